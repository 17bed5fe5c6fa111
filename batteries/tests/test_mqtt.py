import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from batteries import mqtt
from batteries.models import BatteryAlert, BatteryReading
from batteries.tests.factories import BatteryFactory, reading
from config.exceptions import NotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def battery():
    return BatteryFactory()


def _payload(value) -> bytes:
    return json.dumps(value).encode()


def test_it_stores_an_mqtt_reading_and_runs_monitoring(battery):
    result = mqtt.handle_telemetry(
        battery.identifier, _payload(reading(soc_percent=3)), timezone.now()
    )

    assert result.stored == 1
    battery.refresh_from_db()
    assert battery.soc_percent == Decimal(3)
    assert BatteryReading.objects.get().source == "mqtt"
    assert BatteryAlert.objects.get().rule == "soc_below_reserve"


def test_it_uses_the_receive_time_when_the_payload_has_no_timestamp(battery):
    received_at = timezone.now() - timedelta(seconds=3)
    payload = reading()
    del payload["timestamp"]

    mqtt.handle_telemetry(battery.identifier, _payload(payload), received_at)

    assert BatteryReading.objects.get().at == received_at


def test_it_stores_a_list_of_readings_and_ignores_its_replay(battery):
    now = timezone.now()
    readings = [reading(timestamp=(now - timedelta(seconds=s)).isoformat()) for s in (30, 20)]

    first = mqtt.handle_telemetry(battery.identifier, _payload(readings), now)
    replay = mqtt.handle_telemetry(battery.identifier, _payload(readings), now)

    assert (first.stored, replay.stored, replay.duplicates) == (2, 0, 2)
    assert BatteryReading.objects.count() == 2


def test_it_drops_only_a_conflicting_reading_of_a_message(battery):
    now = timezone.now()
    at = (now - timedelta(seconds=30)).isoformat()
    mqtt.handle_telemetry(battery.identifier, _payload(reading(timestamp=at, soc_percent=50)), now)

    result = mqtt.handle_telemetry(
        battery.identifier,
        _payload([reading(timestamp=at, soc_percent=51), reading(timestamp=now.isoformat())]),
        now,
    )

    assert (result.stored, result.conflicts) == (1, 1)
    assert BatteryReading.objects.get(at=at).soc_percent == Decimal(50)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (_payload(reading(soc_percent=101)), "soc_percent: State of charge"),
        (_payload([reading(), reading(status="boom")]), "reading 1: status"),
        (_payload(["a string"]), "JSON object"),
    ],
)
def test_it_raises_a_clear_error_for_a_bad_payload(battery, payload, message):
    with pytest.raises(mqtt.BadPayload, match=message):
        mqtt.handle_telemetry(battery.identifier, payload, timezone.now())

    assert not BatteryReading.objects.exists()


def test_it_raises_not_found_for_an_unknown_battery():
    with pytest.raises(NotFound):
        mqtt.handle_telemetry("ZZ9-0001-10", _payload(reading()), timezone.now())


def test_it_stores_a_batch_and_returns_the_bad_messages(battery):
    now = timezone.now()
    messages = [
        (battery.identifier, _payload(reading(timestamp=now.isoformat())), now),
        ("ZZ9-0001-10", _payload(reading()), now),
        (battery.identifier, b"{", now),
    ]

    result, errors = mqtt.handle_telemetry_batch(messages)

    assert result.stored == 1
    assert [index for index, _ in errors] == [1, 2]
    assert isinstance(errors[0][1], NotFound)
    assert isinstance(errors[1][1], mqtt.BadPayload)


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        _payload({"instruction_id": "nope", "result": "accepted"}),
        _payload({"instruction_id": "6f1c2a4e-0000-4000-8000-000000000000", "result": "maybe"}),
    ],
)
def test_it_refuses_a_bad_acknowledgement(battery, payload):
    with pytest.raises(mqtt.BadPayload):
        mqtt.handle_command_ack(battery.identifier, payload, timezone.now())


def test_it_raises_not_found_for_an_ack_of_an_unknown_instruction(battery):
    payload = {"instruction_id": "6f1c2a4e-0000-4000-8000-000000000000", "result": "accepted"}

    with pytest.raises(NotFound):
        mqtt.handle_command_ack(battery.identifier, _payload(payload), timezone.now())


def test_it_names_its_topics(settings):
    settings.BATTERIES_MQTT_TOPIC_ROOT = "batteries"

    assert mqtt.telemetry_topic("N1-000A-10") == "batteries/N1-000A-10/telemetry"
    assert mqtt.command_topic("N1-000A-10") == "batteries/N1-000A-10/cmd"
    assert mqtt.ack_topic("N1-000A-10") == "batteries/N1-000A-10/cmd/ack"
