from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from batteries.models import BatteryReading
from batteries.tests.factories import BatteryFactory, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def battery(customer):
    return BatteryFactory(account=customer.customer_accounts.get())


@pytest.fixture
def client(api, customer):
    return api.as_user(customer)


def _post(client, battery, **overrides):
    return client.post(f"/api/v1/batteries/{battery.pk}/telemetry", reading(**overrides))


def test_it_stores_a_reading_and_updates_the_current_state(client, battery):
    at = timezone.now() - timedelta(seconds=5)

    response = _post(client, battery, timestamp=at.isoformat(), soc_percent=64.5, power_kw=-3.2)

    assert response.status_code == 201
    assert response.json() == {"stored": 1, "duplicates": 0}
    battery.refresh_from_db()
    assert battery.soc_percent == Decimal("64.5")
    assert battery.power_kw == Decimal("-3.2")
    assert battery.status == "charging"
    assert battery.last_seen == at
    assert BatteryReading.objects.get().soc_percent == Decimal("64.5")


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("soc_percent", 100.5, "between 0 and 100"),
        ("soc_percent", -1, "between 0 and 100"),
        ("temperature_c", 101, "between -50 and 100"),
        ("temperature_c", -51, "between -50 and 100"),
        ("voltage_v", -0.1, "0 V or more"),
        ("status", "exploding", "Status must be one of"),
        ("flag", "purple", "Flag must be one of"),
        ("soc_percent", "half", "number"),
        ("power_kw", None, "required"),
        ("timestamp", "yesterday", "wrong format"),
    ],
)
def test_it_refuses_a_reading_that_breaks_a_rule(client, battery, field, value, rule):
    response = _post(client, battery, **{field: value})

    assert response.status_code == 400
    body = response.json()
    assert rule in body["fields"][field][0]
    assert body["detail"].startswith(f"{field}: ")
    assert not BatteryReading.objects.exists()
    battery.refresh_from_db()
    assert battery.last_seen is None


def test_it_stamps_a_reading_without_timestamp_with_the_time_received(client, battery):
    payload = reading()
    del payload["timestamp"]
    before = timezone.now()

    response = client.post(f"/api/v1/batteries/{battery.pk}/telemetry", payload)

    assert response.status_code == 201
    assert before <= BatteryReading.objects.get().at <= timezone.now()


def test_it_refuses_a_reading_from_the_future(client, battery):
    response = _post(client, battery, timestamp=(timezone.now() + timedelta(hours=1)).isoformat())

    assert response.status_code == 400
    [message] = response.json()["fields"]["timestamp"]
    assert "in the future" in message


def test_it_accepts_the_boundaries_of_each_range(client, battery):
    response = _post(client, battery, soc_percent=100, temperature_c=-50, voltage_v=0)

    assert response.status_code == 201


def test_it_reads_a_naive_timestamp_in_london_time(client, battery):
    _post(client, battery, timestamp="2026-07-01T12:00:00")

    assert BatteryReading.objects.get().at.isoformat() == "2026-07-01T11:00:00+00:00"


def test_it_stores_a_replayed_reading_once(client, battery):
    at = (timezone.now() - timedelta(minutes=1)).isoformat()

    first = _post(client, battery, timestamp=at)
    replay = _post(client, battery, timestamp=at)

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json() == {"stored": 0, "duplicates": 1}
    assert BatteryReading.objects.count() == 1


def test_it_refuses_a_different_reading_for_a_stored_timestamp(client, battery):
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    _post(client, battery, timestamp=at, soc_percent=50)

    response = _post(client, battery, timestamp=at, soc_percent=51)

    assert response.status_code == 409
    assert "append-only" in response.json()["detail"]
    assert BatteryReading.objects.get().soc_percent == Decimal(50)


def test_it_keeps_the_newer_state_when_an_old_reading_arrives_late(client, battery):
    now = timezone.now()
    _post(client, battery, timestamp=now.isoformat(), soc_percent=80, status="idle", power_kw=0)

    late = _post(client, battery, timestamp=(now - timedelta(hours=1)).isoformat(), soc_percent=20)

    assert late.status_code == 201
    battery.refresh_from_db()
    assert battery.soc_percent == Decimal(80)
    assert battery.status == "idle"
    assert battery.last_seen == now
    assert BatteryReading.objects.count() == 2


def test_it_stores_bulk_readings_of_several_batteries(api, staff):
    one, two = BatteryFactory(), BatteryFactory(postcode="E8 1AA")
    now = timezone.now()
    readings = [
        reading(battery=one.identifier, timestamp=(now - timedelta(minutes=m)).isoformat())
        for m in range(3)
    ] + [reading(battery=str(two.pk), timestamp=now.isoformat(), soc_percent=33)]

    response = api.as_user(staff).post("/api/v1/batteries/telemetry", {"readings": readings})
    replay = api.as_user(staff).post("/api/v1/batteries/telemetry", {"readings": readings})

    assert response.status_code == 200, response.json()
    assert response.json() == {"stored": 4, "duplicates": 0}
    assert replay.json() == {"stored": 0, "duplicates": 4}
    two.refresh_from_db()
    one.refresh_from_db()
    assert two.soc_percent == Decimal(33)
    assert one.last_seen == now
    assert BatteryReading.objects.count() == 4


def test_it_stores_nothing_of_a_bulk_with_one_bad_reading(api, staff):
    battery = BatteryFactory()
    now = timezone.now()
    readings = [
        reading(battery=battery.identifier, timestamp=now.isoformat()),
        reading(
            battery=battery.identifier,
            timestamp=(now - timedelta(minutes=1)).isoformat(),
            soc_percent=150,
        ),
    ]

    response = api.as_user(staff).post("/api/v1/batteries/telemetry", {"readings": readings})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("readings[1].soc_percent:")
    assert not BatteryReading.objects.exists()


def test_it_refuses_a_bulk_naming_a_battery_the_customer_cannot_see(api, customer):
    other = BatteryFactory()

    response = api.as_user(customer).post(
        "/api/v1/batteries/telemetry", {"readings": [reading(battery=other.identifier)]}
    )

    assert response.status_code == 400
    assert "readings[0].battery" in response.json()["fields"]
    assert not BatteryReading.objects.exists()


def test_it_refuses_an_empty_bulk(api, staff):
    response = api.as_user(staff).post("/api/v1/batteries/telemetry", {"readings": []})

    assert response.status_code == 400


def test_it_answers_history_raw_paged_and_downsampled(client, battery):
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    for minute in range(10):
        _post(
            client,
            battery,
            timestamp=(start + timedelta(minutes=minute)).isoformat(),
            soc_percent=10 + minute,
            temperature_c=20 + minute,
        )
    base = f"/api/v1/batteries/{battery.identifier}/history"

    raw = client.get(base, {"limit": 4}).json()
    following = client.get(base, {"limit": 100, "after": raw["next_after"]}).json()
    ranged = client.get(
        base,
        {"start": (start + timedelta(minutes=2)).isoformat(),
         "end": (start + timedelta(minutes=5)).isoformat()},
    ).json()  # fmt: skip
    buckets = client.get(base, {"bucket": 300}).json()

    assert [p["soc_percent"] for p in raw["points"]] == ["10.00", "11.00", "12.00", "13.00"]
    assert len(following["points"]) == 6 and following["next_after"] is None
    assert [p["soc_percent"] for p in ranged["points"]] == ["12.00", "13.00", "14.00"]
    assert sum(p["readings"] for p in buckets["points"]) == 10
    assert buckets["bucket_seconds"] == 300
    assert max(p["temperature_max_c"] for p in buckets["points"]) == "29.00"
    assert client.get(base, {"bucket": 5}).status_code == 400


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00+14:00",  # cannot be converted to UTC
        "1999-12-31T23:59:59Z",  # before INPUT_EARLIEST_DATETIME
        "9999-12-31T23:59:59-14:00",
        "2026-01-01T00:00:00+23:00",  # an offset no place has
    ],
)
def test_it_refuses_a_bulk_reading_with_an_implausible_timestamp_by_the_shared_rule(
    api, staff, timestamp
):
    battery = BatteryFactory()
    readings = [reading(battery=battery.identifier), reading(battery=battery.identifier)]
    readings[1]["timestamp"] = timestamp

    response = api.as_user(staff).post("/api/v1/batteries/telemetry", {"readings": readings})

    assert response.status_code == 400
    assert "readings[1].timestamp" in response.json()["fields"]
    assert not BatteryReading.objects.exists()


def test_it_takes_a_bulk_reading_within_the_allowed_clock_skew_and_refuses_one_beyond(api, staff):
    battery = BatteryFactory()
    skew = timedelta(seconds=settings.READING_MAX_CLOCK_SKEW_SECONDS)
    ahead = reading(battery=battery.identifier, timestamp=(timezone.now() + skew / 2).isoformat())
    beyond = reading(
        battery=battery.identifier,
        timestamp=(timezone.now() + skew + timedelta(minutes=5)).isoformat(),
    )

    accepted = api.as_user(staff).post("/api/v1/batteries/telemetry", {"readings": [ahead]})
    refused = api.as_user(staff).post("/api/v1/batteries/telemetry", {"readings": [beyond]})

    assert accepted.status_code == 200 and accepted.json()["stored"] == 1
    assert refused.status_code == 400
    assert "in the future" in refused.json()["fields"]["readings[0].timestamp"][0]
