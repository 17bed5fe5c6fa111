import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory
from meters import services
from meters.models import DailyUsage, Reading

from .factories import MeterFactory

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 10, tzinfo=UTC)


def _url(meter):
    return f"/api/v1/meters/{meter.meter_id}/readings"


@pytest.fixture
def own_meter(customer):
    return MeterFactory(account=customer.customer_accounts.get())


def test_it_stores_a_reading_posted_by_the_meters_customer(api, customer, own_meter):
    response = api.as_user(customer).post(
        _url(own_meter), {"at": "2026-01-10T00:00:00Z", "import_kwh": "12.5"}
    )
    assert response.status_code == 201, response.data
    assert response.data["import_kwh"] == "12.5000"
    # A customer's own read (issue #19): source and quality "customer".
    assert Reading.objects.get(meter=own_meter).source == "customer"


def test_it_answers_200_for_a_duplicate_and_409_for_another_value(api, staff):
    meter = MeterFactory()
    client = api.as_user(staff)
    body = {"at": "2026-01-10T00:30:00Z", "import_kwh": "3"}
    assert client.post(_url(meter), body).status_code == 201
    assert client.post(_url(meter), body).status_code == 200
    conflict = client.post(_url(meter), {**body, "import_kwh": "4"})
    assert conflict.status_code == 409
    assert "already stored" in conflict.data["detail"]
    assert Reading.objects.get(meter=meter).import_kwh == Decimal(3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"at": "2026-01-10T00:10:00Z", "import_kwh": "1"}, "at"),
        ({"at": "2026-01-10T00:00:30Z", "import_kwh": "1"}, "at"),
        ({"at": "2026-01-10T00:00:00Z", "import_kwh": "-1"}, "import_kwh"),
        ({"at": "2026-01-10T00:00:00Z", "import_kwh": "lots"}, "import_kwh"),
        ({"at": "yesterday", "import_kwh": "1"}, "at"),
        ({"import_kwh": "1"}, "at"),
        ({"at": "2026-10-25T01:30:00", "import_kwh": "1"}, "at"),
    ],
)
def test_it_refuses_bad_readings_naming_the_field(api, staff, body, field):
    meter = MeterFactory()
    response = api.as_user(staff).post(_url(meter), body)
    assert response.status_code == 400, response.data
    assert field in response.data["fields"]
    assert response.data["detail"].startswith(field)
    assert not Reading.objects.exists()


def test_it_refuses_a_timestamp_in_the_future(api, staff):
    meter = MeterFactory(kind="live")
    ahead = (timezone.now() + timedelta(minutes=10)).isoformat()
    response = api.as_user(staff).post(_url(meter), {"at": ahead, "import_kwh": "1"})
    assert response.status_code == 400
    assert "future" in response.data["detail"]


def test_it_reads_a_naive_timestamp_in_the_meters_time_zone(api, staff):
    london = MeterFactory(timezone="Europe/London")
    new_york = MeterFactory(timezone="America/New_York")
    client = api.as_user(staff)
    client.post(_url(london), {"at": "2026-07-01T12:00:00", "import_kwh": "1"})
    client.post(_url(new_york), {"at": "2026-07-01T12:00:00", "import_kwh": "1"})
    assert Reading.objects.get(meter=london).at == datetime(2026, 7, 1, 11, tzinfo=UTC)
    assert Reading.objects.get(meter=new_york).at == datetime(2026, 7, 1, 16, tzinfo=UTC)


def test_it_refuses_a_register_going_down_but_records_a_marked_exchange(api, staff):
    meter = MeterFactory()
    client = api.as_user(staff)
    client.post(_url(meter), {"at": "2026-01-10T00:00:00Z", "import_kwh": "500"})
    down = client.post(_url(meter), {"at": "2026-01-10T00:30:00Z", "import_kwh": "2"})
    assert down.status_code == 400 and down.data["fields"] == {"import_kwh": [down.data["detail"]]}
    exchange = client.post(
        _url(meter), {"at": "2026-01-10T00:30:00Z", "import_kwh": "2", "register_reset": True}
    )
    assert exchange.status_code == 201 and exchange.data["register_reset"] is True


def test_it_answers_404_for_an_unknown_meter(api, staff):
    response = api.as_user(staff).post(
        "/api/v1/meters/no-such-meter/readings", {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"}
    )
    assert response.status_code == 404


def test_it_hides_another_accounts_meter_from_a_customer(api, customer):
    other = MeterFactory(account=CustomerAccountFactory())
    services.reading_record(meter=other, at=JAN, import_kwh=1, source="api")
    client = api.as_user(customer)
    assert client.get(_url(other)).status_code == 404
    assert client.get(f"/api/v1/meters/{other.meter_id}").status_code == 404
    post = client.post(_url(other), {"at": "2026-01-10T00:30:00Z", "import_kwh": "2"})
    assert post.status_code == 404
    bulk = client.post(
        "/api/v1/readings/bulk",
        {"readings": [{"meter_id": other.meter_id, "at": "2026-01-10T00:30:00Z", "import_kwh": 2}]},
    )
    assert bulk.data["results"][0]["code"] == "unknown_meter"
    assert Reading.objects.filter(meter=other).count() == 1


def test_it_gives_analysts_no_meter_rows(api, analyst):
    meter = MeterFactory()
    assert api.as_user(analyst).get(f"/api/v1/meters/{meter.meter_id}").status_code == 404
    assert api.as_user(analyst).get("/api/v1/meters").data["count"] == 0


def _bulk_item(meter, at, kwh, **extra):
    return {"meter_id": meter.meter_id, "at": at.isoformat(), "import_kwh": str(kwh), **extra}


def test_it_reports_each_item_of_a_bulk_request(api, staff):
    a, b = MeterFactory(), MeterFactory()
    services.reading_record(meter=a, at=JAN, import_kwh=10, source="api")
    readings = [
        _bulk_item(a, JAN, 10),
        _bulk_item(a, JAN, 11),
        _bulk_item(a, JAN + timedelta(minutes=30), 10.5),
        _bulk_item(b, JAN, 1),
        _bulk_item(b, JAN + timedelta(minutes=5), 1),
        {"meter_id": "ghost", "at": JAN.isoformat(), "import_kwh": 1},
        _bulk_item(b, JAN + timedelta(minutes=30), "x"),
    ]
    response = api.as_user(staff).post("/api/v1/readings/bulk", {"readings": readings})
    assert response.status_code == 200, response.data
    statuses = [(r["status"], r.get("code", "")) for r in response.data["results"]]
    assert statuses == [
        ("duplicate", ""),
        ("rejected", "conflict"),
        ("accepted", ""),
        ("accepted", ""),
        ("rejected", "invalid"),
        ("rejected", "unknown_meter"),
        ("rejected", "invalid"),
    ]
    assert (response.data["accepted"], response.data["duplicate"]) == (2, 1)
    assert response.data["rejected"] == 4
    assert Reading.objects.count() == 3


def test_it_writes_nothing_from_an_atomic_bulk_request_with_a_conflict(api, staff):
    meter = MeterFactory()
    services.reading_record(meter=meter, at=JAN, import_kwh=10, source="api")
    readings = [_bulk_item(meter, JAN + timedelta(minutes=30), 11), _bulk_item(meter, JAN, 9)]
    response = api.as_user(staff).post("/api/v1/readings/bulk?atomic=true", {"readings": readings})
    assert response.status_code == 409
    assert [r["status"] for r in response.data["results"]] == ["skipped", "rejected"]
    assert Reading.objects.count() == 1


def test_it_refuses_a_bulk_request_that_is_not_a_list(api, staff):
    response = api.as_user(staff).post("/api/v1/readings/bulk", {"readings": "many"})
    assert response.status_code == 400 and "readings" in response.data["fields"]
    too_many = [{"meter_id": "m", "at": JAN.isoformat(), "import_kwh": 1}] * 10_001
    response = api.as_user(staff).post("/api/v1/readings/bulk", {"readings": too_many})
    assert response.status_code == 400 and "10000" in response.data["detail"]


def test_it_rolls_up_bulk_readings_in_the_same_request(api, staff):
    meter = MeterFactory()
    readings = [_bulk_item(meter, JAN + timedelta(minutes=30 * i), 100 + i) for i in range(49)]
    api.as_user(staff).post("/api/v1/readings/bulk", {"readings": readings})
    usage = DailyUsage.objects.get(meter=meter, day=JAN.date())
    assert usage.import_kwh == Decimal(48) and not usage.is_partial


def test_it_lets_staff_register_a_meter_and_not_customers(api, staff, customer):
    account = customer.customer_accounts.get()
    body = {"meter_id": "531-999-001", "account_number": account.account_number}
    assert api.as_user(customer).post("/api/v1/meters", body).status_code == 403
    response = api.as_user(staff).post("/api/v1/meters", body)
    assert response.status_code == 201 and response.data["region"] == account.region
    assert api.as_user(staff).post("/api/v1/meters", body).status_code == 409
    listed = api.as_user(customer).get("/api/v1/meters").data
    assert [m["meter_id"] for m in listed["results"]] == ["531-999-001"]


def test_it_takes_a_full_10000_reading_batch_larger_than_djangos_upload_limit(api, staff):
    meter = MeterFactory(kind="live")
    items = [
        {
            "meter_id": meter.meter_id,
            "at": (JAN + timedelta(seconds=10 * i)).isoformat(),
            "import_kwh": str(1000 + Decimal(i) / 1000),
            "export_kwh": "12.3456",
            "power_w": 1234.5,
            "power_l1_w": 400.1,
            "power_l2_w": 400.2,
            "power_l3_w": 434.2,
            "quality": "actual",
            "raw": {"ENERGY": {"Total": 1000 + i / 1000, "Power": 1234, "Voltage": 241}},
        }
        for i in range(10_000)
    ]
    body = json.dumps({"readings": items})
    assert len(body) > 2.5 * 1024 * 1024
    response = api.as_user(staff).post(
        "/api/v1/readings/bulk", body, content_type="application/json"
    )
    assert response.status_code == 200 and response.data["accepted"] == 10_000
    assert Reading.objects.filter(meter=meter).count() == 10_000


def test_it_refuses_a_bulk_body_that_is_not_json(api, staff, settings):
    client = api.as_user(staff)
    response = client.post("/api/v1/readings/bulk", "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.data["detail"]
    settings.READINGS_BULK_MAX_BYTES = 100
    big = json.dumps({"readings": [{"meter_id": "x" * 200}]})
    response = client.post("/api/v1/readings/bulk", big, content_type="application/json")
    assert response.status_code == 413
