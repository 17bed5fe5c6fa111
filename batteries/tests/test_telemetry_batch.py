"""The set-based telemetry path: a batch of many batteries' readings through MQTT and the bulk
endpoint, checked against the same readings sent one by one and against the fleet monitoring
pass (whose SQL judges the stored state on its own)."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteries import mqtt, services
from batteries.models import AlertStatus, Battery, BatteryAlert, BatteryReading
from batteries.tests.factories import BatteryFactory, reading
from config.exceptions import NotFound
from notifications.models import Event

pytestmark = pytest.mark.django_db


def _payload(value) -> bytes:
    return json.dumps(value).encode()


def _state(battery: Battery) -> tuple:
    battery.refresh_from_db()
    return (
        battery.soc_percent,
        battery.power_kw,
        battery.voltage_v,
        battery.temperature_c,
        battery.status,
        battery.reported_flag,
        battery.flag,
        battery.last_seen,
    )


def _alerts(battery: Battery) -> list[tuple]:
    return sorted(
        (alert.rule, alert.severity, alert.status, alert.message)
        for alert in BatteryAlert.objects.filter(battery=battery)
    )


def _history(battery: Battery) -> list[tuple]:
    return list(
        BatteryReading.objects.filter(battery=battery)
        .order_by("at")
        .values_list(
            "at", "soc_percent", "power_kw", "voltage_v", "temperature_c", "status", "flag"
        )
    )


def test_it_stores_the_rest_of_a_batch_around_bad_and_poison_messages():
    good, other = BatteryFactory(), BatteryFactory()
    now = timezone.now()
    at = (now - timedelta(seconds=10)).isoformat()
    deep = b"[" * 200 + b"]" * 200
    messages = [
        (good.identifier, _payload(reading(timestamp=at)), now),
        (other.identifier, _payload(reading(timestamp=at, soc_percent=140)), now),
        ("ZZ9-0001-10", _payload(reading(timestamp=at)), now),
        (other.identifier, deep, now),
        (other.identifier, _payload([reading(timestamp=at), reading(status="exploding")]), now),
        (other.identifier, b"\xff\xfe not json", now),
        (other.identifier, _payload(reading(timestamp=at, temperature_c=70)), now),
    ]

    result, errors = mqtt.handle_telemetry_batch(messages)

    assert result.stored == 2
    assert [index for index, _ in errors] == [1, 2, 3, 4, 5]
    assert isinstance(errors[1][1], NotFound)
    assert all(isinstance(error, mqtt.BadPayload) for i, error in errors if i != 2)
    assert "soc_percent: State of charge must be between 0 and 100 %." in str(errors[0][1])
    assert "reading 1: status" in str(errors[3][1])
    # A message holding a bad reading is refused whole: its good reading is not stored either.
    assert [row[0] for row in _history(other)] == [now - timedelta(seconds=10)]
    assert _history(other)[0][4] == Decimal(70)
    assert [rule for rule, *_ in _alerts(other)] == ["temperature_critical"]


def _fleet_batch(batteries, at, **values) -> list[tuple]:
    return [
        (
            battery.identifier,
            _payload(reading(timestamp=at.isoformat(), soc_percent=5 + index % 3, **values)),
            at,
        )
        for index, battery in enumerate(batteries)
    ]


def test_it_adds_nothing_and_raises_no_second_alert_for_a_redelivered_batch():
    batteries = [BatteryFactory() for _ in range(30)]
    at = timezone.now() - timedelta(seconds=20)
    batch = _fleet_batch(batteries, at, temperature_c=57)
    first, errors = mqtt.handle_telemetry_batch(batch)
    stored = BatteryReading.objects.count()
    alerts = {battery.pk: _alerts(battery) for battery in batteries}
    states = {battery.pk: _state(battery) for battery in batteries}
    events = Event.objects.count()

    again, errors_again = mqtt.handle_telemetry_batch(batch)

    assert (errors, errors_again) == ([], [])
    assert (first.stored, first.duplicates) == (30, 0)
    assert (again.stored, again.duplicates, again.conflicts) == (0, 30, 0)
    assert BatteryReading.objects.count() == stored == 30
    assert {battery.pk: _alerts(battery) for battery in batteries} == alerts
    assert {battery.pk: _state(battery) for battery in batteries} == states
    assert {state[6] for state in states.values()} == {"error"}
    assert Event.objects.count() == events == 60  # two alerts a battery, one event each
    assert all(
        [rule for rule, *_ in found] == ["soc_below_reserve", "temperature_critical"]
        for found in alerts.values()
    )


def test_it_raises_an_alert_once_while_the_condition_lasts_and_resolves_it_once():
    batteries = [BatteryFactory() for _ in range(20)]
    start = timezone.now() - timedelta(minutes=3)
    for minute in range(3):
        mqtt.handle_telemetry_batch(
            _fleet_batch(batteries, start + timedelta(minutes=minute), temperature_c=47)
        )
    assert BatteryAlert.objects.count() == 40
    assert set(BatteryAlert.objects.values_list("status", flat=True)) == {AlertStatus.OPEN}

    cleared_at = start + timedelta(minutes=3, seconds=30)
    result, _ = mqtt.handle_telemetry_batch(
        [
            (b.identifier, _payload(reading(timestamp=cleared_at.isoformat())), cleared_at)
            for b in batteries
        ]
    )

    assert result.stored == 20
    assert BatteryAlert.objects.count() == 40
    assert set(BatteryAlert.objects.values_list("status", flat=True)) == {AlertStatus.RESOLVED}
    assert set(Battery.objects.values_list("flag", flat=True)) == {"ok"}


def test_it_answers_a_redelivered_bulk_with_duplicates_and_no_new_alert(api, staff):
    batteries = [BatteryFactory() for _ in range(5)]
    at = (timezone.now() - timedelta(seconds=5)).isoformat()
    body = {
        "readings": [
            {"battery": b.identifier, **reading(timestamp=at, soc_percent=3)} for b in batteries
        ]
    }
    client = api.as_user(staff)

    first = client.post("/api/v1/batteries/telemetry", body, format="json")
    again = client.post("/api/v1/batteries/telemetry", body, format="json")

    assert (first.status_code, first.json()) == (200, {"stored": 5, "duplicates": 0})
    assert (again.status_code, again.json()) == (200, {"stored": 0, "duplicates": 5})
    assert BatteryAlert.objects.count() == 5
    assert BatteryReading.objects.count() == 5


def test_it_refuses_a_bulk_contradicting_a_stored_reading_and_stores_none_of_it(api, staff):
    first, second = BatteryFactory(), BatteryFactory()
    at = (timezone.now() - timedelta(seconds=5)).isoformat()
    client = api.as_user(staff)
    client.post(
        "/api/v1/batteries/telemetry",
        {"readings": [{"battery": first.identifier, **reading(timestamp=at)}]},
        format="json",
    )
    before = _state(first)

    response = client.post(
        "/api/v1/batteries/telemetry",
        {
            "readings": [
                {"battery": second.identifier, **reading(timestamp=at, soc_percent=2)},
                {"battery": first.identifier, **reading(timestamp=at, soc_percent=80)},
            ]
        },
        format="json",
    )

    assert response.status_code == 409
    assert first.identifier in str(response.json())
    assert BatteryReading.objects.count() == 1
    assert _history(second) == []
    assert _state(first) == before
    assert not BatteryAlert.objects.exists()


def test_it_names_the_bad_item_of_a_bulk_and_stores_nothing(api, staff):
    batteries = [BatteryFactory() for _ in range(3)]
    items = [{"battery": b.identifier, **reading()} for b in batteries]
    items[2]["voltage_v"] = -1
    items.insert(1, "not a reading")

    response = api.as_user(staff).post(
        "/api/v1/batteries/telemetry", {"readings": items}, format="json"
    )

    assert response.status_code == 400
    body = json.dumps(response.json())
    assert "readings[3].voltage_v" in body and "Voltage must be 0 V or more" in body
    assert "readings[1]" in body
    assert not BatteryReading.objects.exists()


def _worst(battery: Battery) -> str:
    """The flag a battery must show: the worst of what it reports and its unresolved alerts."""
    open_severities = set(
        BatteryAlert.objects.filter(battery=battery)
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("severity", flat=True)
    )
    if battery.reported_flag == "error" or "critical" in open_severities:
        return "error"
    return "warning" if battery.reported_flag == "warning" or open_severities else "ok"


_values = st.fixed_dictionaries(
    {
        "soc_percent": st.sampled_from([0, 5, 9.99, 10, 55, 100]),
        "power_kw": st.sampled_from([-6.5, -5, -2.5, 0, 2, 5, 5.5]),
        "voltage_v": st.sampled_from([0, 40, 44.99, 51.2, 58, 60]),
        "temperature_c": st.sampled_from([-20, 25, 44.5, 47, 55, 56, 60, 66]),
        "status": st.sampled_from(["idle", "charging", "discharging", "offline"]),
        "flag": st.sampled_from(["ok", "warning", "error"]),
        # minutes before now: over BATTERIES_STALE_MINUTES makes the battery offline
        "age": st.sampled_from([0, 1, 30, 400]),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rounds=st.lists(st.lists(_values, min_size=1, max_size=6), min_size=1, max_size=2))
def test_a_batch_of_many_batteries_gives_the_rows_and_alerts_of_one_by_one(db, rounds):
    """Round after round, each battery reports once: one fleet through MQTT batches, an
    identical fleet reading by reading. Both must store the same history, state, flags and
    alerts, and the fleet pass (SQL) must find nothing left to change after the batches."""
    size = max(len(round_) for round_ in rounds)
    batched = [BatteryFactory() for _ in range(size)]
    single = [BatteryFactory() for _ in range(size)]
    now = timezone.now()
    for number, round_ in enumerate(rounds):
        messages = []
        for index, values in enumerate(round_):
            values = dict(values)
            at = now - timedelta(minutes=values.pop("age"), seconds=10 - number)
            payload = reading(timestamp=at.isoformat(), **values)
            messages.append((batched[index].identifier, _payload(payload), at))
            services.reading_record(battery=single[index], data=payload, source="mqtt")
        result, errors = mqtt.handle_telemetry_batch(messages)
        assert (result.stored, errors) == (len(round_), [])

    for one_batch, one_by_one in zip(batched, single, strict=True):
        assert _history(one_batch) == _history(one_by_one)
        assert _state(one_batch) == _state(one_by_one)
        assert [a[:3] for a in _alerts(one_batch)] == [a[:3] for a in _alerts(one_by_one)]
        assert one_batch.flag == _worst(one_batch)
    fleet_pass = services.monitoring_run(
        battery_ids=[battery.pk for battery in batched], now=timezone.now()
    )
    assert sum(fleet_pass.opened.values()) == sum(fleet_pass.resolved.values()) == 0
    assert fleet_pass.flags_changed == fleet_pass.went_offline == 0


def test_two_ingest_processes_given_the_same_batch_store_it_once(transactional_db):
    """A redelivery can reach another ingest process while the first still holds the batch:
    the batteries' row locks make the second wait, then find every reading stored."""
    batteries = [BatteryFactory() for _ in range(40)]
    at = timezone.now() - timedelta(seconds=30)
    batch = _fleet_batch(batteries, at, temperature_c=57)
    start = threading.Barrier(2)
    results = []

    def ingest():
        try:
            start.wait(timeout=10)
            results.append(mqtt.handle_telemetry_batch(batch))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted((r.stored, r.duplicates, errors) for r, errors in results) == [
        (0, 40, []),
        (40, 0, []),
    ]
    assert BatteryReading.objects.count() == 40
    assert BatteryAlert.objects.count() == 80
    assert set(Battery.objects.values_list("flag", flat=True)) == {"error"}
