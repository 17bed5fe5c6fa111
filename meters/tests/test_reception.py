import pytest

from meters.models import Reading, ReceptionChange

from .factories import MeterFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/system/reception"


def test_it_pauses_writes_with_503_and_keeps_reads_working(api, staff, customer):
    meter = MeterFactory(account=customer.customer_accounts.get())
    paused = api.as_user(staff).put(URL, {"paused": True, "reason": "upgrade"})
    assert paused.status_code == 200 and paused.data["is_open"] is False
    client = api.as_user(customer)
    single = client.post(
        f"/api/v1/meters/{meter.meter_id}/readings",
        {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"},
    )
    assert single.status_code == 503 and single["Retry-After"] == "60"
    assert "upgrade" in single.data["detail"]
    bulk = client.post(
        "/api/v1/readings/bulk",
        {"readings": [{"meter_id": meter.meter_id, "at": "2026-01-10T00:00Z", "import_kwh": 1}]},
    )
    assert bulk.status_code == 503
    assert client.get(f"/api/v1/meters/{meter.meter_id}/readings").status_code == 200
    assert not Reading.objects.exists()

    api.as_user(staff).put(URL, {"paused": False})
    again = client.post(
        f"/api/v1/meters/{meter.meter_id}/readings",
        {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"},
    )
    assert again.status_code == 201


def test_it_refuses_writes_in_maintenance_mode_too(api, staff):
    meter = MeterFactory()
    api.as_user(staff).put(URL, {"maintenance": True})
    response = api.as_user(staff).post(
        f"/api/v1/meters/{meter.meter_id}/readings",
        {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"},
    )
    assert response.status_code == 503 and "maintenance" in response.data["detail"]


def test_it_logs_who_changed_reception_and_when(api, staff):
    api.as_user(staff).put(URL, {"paused": True, "reason": "disk full"})
    api.as_user(staff).put(URL, {"paused": False})
    state = api.as_user(staff).get(URL).data
    assert state["is_open"] is True and state["changed_by"] == staff.email
    assert [h["paused"] for h in state["history"]] == [False, True]
    assert ReceptionChange.objects.filter(changed_by=staff, reason="disk full").exists()


def test_it_lets_only_staff_see_or_change_reception(api, customer, analyst):
    for user in (customer, analyst):
        assert api.as_user(user).get(URL).status_code == 403
        assert api.as_user(user).put(URL, {"paused": True}).status_code == 403
    assert not ReceptionChange.objects.exists()
