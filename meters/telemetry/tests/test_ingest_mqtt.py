"""End to end: real Mosquitto, the ingest command as a real process, the test database."""

import json
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from meters import services as meter_services
from meters.models import Reading, ReadingDiagnostic
from meters.telemetry import services, supervision
from meters.telemetry.management.commands.mqtt_broker import port_answers
from meters.telemetry.models import DeadLetter, Device, DeviceTransition

from .conftest import ROOT, Broker, free_port, publish_all, wait_until
from .factories import DeviceFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def client_id() -> str:
    return f"test-ingest-{uuid.uuid4().hex[:8]}"


def tasmota_time(at) -> str:
    return at.astimezone(timezone.get_default_timezone()).strftime("%Y-%m-%dT%H:%M:%S")


def count_readings(expected: int):
    return lambda: Reading.objects.count() == expected


def test_it_stores_every_payload_variant_and_dead_letters_the_bad_ones(broker, topics, ingests):
    devices = [DeviceFactory() for _ in range(7)]
    at = tasmota_time(timezone.now() - timedelta(seconds=30))
    variants = [
        f'{{"Time":"{at}","MT681":{{"Total_in":186.7106,"Power_cur":79.9,"Total_out":266.8507}}}}',
        f'{{"Time":"{at}","SML":{{"E_in":12345.678,"E_out":12.5,"Power_curr":-431}}}}',
        f'{{"Time":"{at}","SML":{{"Total_in":1,"Power":5,"L1":1,"L2":2,"L3":2,"Meter_number":"9"}}}}',
        f'{{"Time":"{at}","ESP32":{{"Temperature":45.6}},"Gas":{{"Total":1.5}},'
        f'"MT681":{{"Total_in":2,"Power_p1":1,"Power_p2":2,"Power_p3":3,"Meter_id":"X"}}}}',
        f'{{"Time":"{at}","MT681":{{"Total_in":3.5,"Total_in":0,"":7,"Power_cur":""}}}}',
        f'{{"Time":"{at}","MT681":{{"Total_in":0,"Power_cur":0,"Total_out":0}}}}',  # boot zeros
        f'{{"Time":"{at}","MT681":{{"Total_in":4,"Power_cur":-2000}}}}',
    ]
    bad = [
        (topics.sensor(devices[0].topic), "not json at all"),
        (topics.sensor(devices[1].topic), b"\xff\xfe\x00"),
        (topics.sensor(devices[2].topic), '{"Time":"x","ESP32":{"Temperature":4}}'),
        (topics.sensor("unknown-device"), variants[0]),
    ]
    ingests.start(broker, client_id())
    publish_all(
        broker,
        [(topics.sensor(d.topic), v) for d, v in zip(devices, variants, strict=True)] + bad,
    )
    wait_until(count_readings(6), what="6 readings")
    wait_until(lambda: DeadLetter.objects.count() == 4, what="4 dead letters")
    stored = {r.meter_id: r for r in Reading.objects.all()}
    assert stored[devices[0].meter_id].import_kwh == Decimal("186.7106")
    assert stored[devices[1].meter_id].power_w == -431
    assert stored[devices[2].meter_id].power_l3_w == 2
    assert stored[devices[3].meter_id].import_kwh == 2
    assert stored[devices[4].meter_id].import_kwh == Decimal("3.5")
    assert devices[5].meter_id not in stored
    assert stored[devices[6].meter_id].power_w == -2000
    assert not ReadingDiagnostic.objects.exists()  # every payload had its Time (#16)
    assert sorted(DeadLetter.objects.values_list("code", flat=True)) == [
        "no_register",
        "not_json",
        "not_json",
        "unassigned_device",
    ]
    assert Device.objects.get(topic="unknown-device").meter is None


def test_it_records_lwt_transitions(broker, topics, ingests):
    device = DeviceFactory()
    ident = client_id()
    ingests.start(broker, ident)
    # "auto" picks MQTT 5 on Mosquitto (the embedded broker test covers the 3.1.1 fallback).
    assert cache.get(supervision.HEARTBEAT_KEY.format(client_id=ident))["protocol"] == "5"
    publish_all(
        broker,
        [
            (topics.lwt(device.topic), "Online"),
            (topics.lwt(device.topic), "Offline"),
            (topics.lwt(device.topic), "Online"),
        ],
    )
    wait_until(lambda: DeviceTransition.objects.count() == 3, what="3 transitions")
    device.refresh_from_db()
    assert device.online is True
    assert list(DeviceTransition.objects.order_by("at").values_list("online", flat=True)) == [
        True,
        False,
        True,
    ]


def test_it_ingests_through_the_embedded_demo_broker(topics, ingests, tmp_path):
    port = free_port()
    env = ingests.env(Broker("127.0.0.1", port))
    with open(tmp_path / "broker.log", "w") as log:
        embedded = subprocess.Popen(
            [sys.executable, "manage.py", "mqtt_broker"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        broker = Broker("127.0.0.1", port)
        wait_until(lambda: port_answers("127.0.0.1", port), 30, "the embedded broker")
        device = DeviceFactory()
        ident = client_id()
        ingests.start(broker, ident)
        beat = cache.get(supervision.HEARTBEAT_KEY.format(client_id=ident))
        assert beat["protocol"] == "3.1.1"
        at = tasmota_time(timezone.now() - timedelta(seconds=5))
        publish_all(
            broker, [(topics.sensor(device.topic), f'{{"Time":"{at}","SML":{{"E_in":9.5}}}}')]
        )
        wait_until(count_readings(1), what="the reading")
    finally:
        # amqtt can take long to stop on a loaded machine; this test is about ingest, not that.
        embedded.terminate()
        try:
            embedded.wait(15)
        except subprocess.TimeoutExpired:
            embedded.kill()
            embedded.wait(5)


def test_it_holds_messages_unacknowledged_while_reception_is_paused(broker, topics, ingests):
    device = DeviceFactory()
    ident = client_id()
    ingests.start(broker, ident)
    meter_services.reception_set(user=None, paused=True, reason="test")
    now = timezone.now()
    messages = [
        (
            topics.sensor(device.topic),
            json.dumps(
                {
                    "Time": tasmota_time(now - timedelta(seconds=60 - i)),
                    "MT681": {"Total_in": 100 + i},
                }
            ),
        )
        for i in range(5)
    ]
    publish_all(broker, messages)
    key = supervision.HEARTBEAT_KEY.format(client_id=ident)
    wait_until(lambda: (cache.get(key) or {}).get("paused"), what="the ingest to hold")
    assert not Reading.objects.exists()
    # A restart while paused loses nothing: the broker still has the unacknowledged messages.
    ingests.processes[-1].send_signal(signal.SIGKILL)
    ingests.processes[-1].wait()
    ingests.start(broker, ident)
    meter_services.reception_set(user=None, paused=False)
    wait_until(count_readings(5), what="5 readings after resume")
    wait_until(lambda: not (cache.get(key) or {}).get("paused"), what="the ingest to resume")


def _stream(topics, devices, per_device: int) -> list[tuple[str, str]]:
    start = timezone.now() - timedelta(hours=3)
    return [
        (
            topics.sensor(device.topic),
            f'{{"Time":"{tasmota_time(start + timedelta(seconds=i))}",'
            f'"MT681":{{"Total_in":{100 + i / 1000:.4f},"Power_cur":{i % 500}}}}}',
        )
        for i in range(per_device)
        for device in devices
    ]


# The 20,000-message stream, from 50 devices. It runs on MQTT 3.1.1 (clean_session=False);
# the pause test kills and restarts an MQTT 5 session.
KILL_TEST_MESSAGES = 20_000


def test_it_stores_every_message_exactly_once_across_a_sigkill(bulk_broker, topics, ingests):
    devices = [DeviceFactory() for _ in range(50)]
    messages = _stream(topics, devices, KILL_TEST_MESSAGES // len(devices))
    ident = client_id()
    first = ingests.start(bulk_broker, ident, "--batch-size", "200", MQTT_PROTOCOL="3.1.1")
    publisher = bulk_broker.publisher()
    infos = [publisher.publish(t, p, qos=1) for t, p in messages]
    wait_until(lambda: Reading.objects.count() >= 800, 60, "the first 800 readings")
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = Reading.objects.count()
    assert killed_at < len(messages), "the kill came too late to test anything"
    for info in infos:
        info.wait_for_publish(timeout=60)
    publisher.disconnect()
    publisher.loop_stop()
    ingests.start(bulk_broker, ident, "--batch-size", "200", MQTT_PROTOCOL="3.1.1")
    wait_until(count_readings(len(messages)), 120, f"{len(messages)} readings")
    per_meter = Reading.objects.values_list("meter_id", flat=True)
    assert {pk: list(per_meter).count(pk) for pk in {d.meter_id for d in devices}} == {
        d.meter_id: len(messages) // len(devices) for d in devices
    }
    assert not DeadLetter.objects.exists()


def test_two_processes_on_a_shared_subscription_split_the_stream(bulk_broker, topics, ingests):
    devices = [DeviceFactory() for _ in range(20)]
    messages = _stream(topics, devices, 50)
    group = f"g{uuid.uuid4().hex[:6]}"
    ids = [client_id(), client_id()]
    for ident in ids:
        ingests.start(bulk_broker, ident, "--shared-group", group, "--batch-size", "100")
    publish_all(bulk_broker, messages)
    wait_until(count_readings(len(messages)), 90, f"{len(messages)} readings")

    def totals():
        beats = [cache.get(supervision.HEARTBEAT_KEY.format(client_id=i)) or {} for i in ids]
        received = [b.get("totals", {}).get("received", 0) for b in beats]
        return received if sum(received) == len(messages) else None

    received = wait_until(totals, 30, "both heartbeats to count every message")
    assert all(count > 0 for count in received), received
    assert not DeadLetter.objects.exists()


def test_it_reconnects_and_resubscribes_after_the_broker_restarts(bulk_broker, topics, ingests):
    device = DeviceFactory()
    ident = client_id()
    ingests.start(bulk_broker, ident, MQTT_RECONNECT_MIN_SECONDS=1, MQTT_RECONNECT_MAX_SECONDS=2)
    key = supervision.HEARTBEAT_KEY.format(client_id=ident)
    assert cache.get(key)["connections"] == 1
    bulk_broker.restart()  # a broker without persistence: the session is gone too

    def back():
        beat = cache.get(key) or {}
        return beat.get("connections") == 2 and beat.get("subscribed")

    wait_until(back, 60, "the ingest to reconnect and subscribe again")
    at = tasmota_time(timezone.now() - timedelta(seconds=5))
    publish_all(
        bulk_broker, [(topics.sensor(device.topic), f'{{"Time":"{at}","SML":{{"E_in":3}}}}')]
    )
    wait_until(count_readings(1), what="the reading after the restart")


@override_settings(TELEMETRY_DOWN_AFTER_SECONDS=3)
def test_supervision_marks_a_killed_ingest_down(broker, topics, ingests):
    ident = client_id()
    process = ingests.start(broker, ident)
    assert services.supervision_run()["status"] != supervision.DOWN
    process.send_signal(signal.SIGKILL)
    process.wait()
    wait_until(
        lambda: services.supervision_run()["status"] == supervision.DOWN,
        120,
        "supervision to mark the ingest down",
    )


def test_a_process_stopped_with_sigterm_is_not_missed_while_another_runs(broker, topics, ingests):
    staying, leaving = client_id(), client_id()
    ingests.start(broker, staying)
    process = ingests.start(broker, leaving)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0

    state = services.supervision_run()

    [last] = [b for b in state["processes"] if b["client_id"] == leaving]
    assert last["stopped"] is True and last["connected"] is False
    assert not [reason for reason in state["reasons"] if leaving in reason]
