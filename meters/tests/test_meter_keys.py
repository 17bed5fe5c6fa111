import pytest

from meters.models import Reading

from .factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter_and_key(api, staff):
    meter = MeterFactory()
    response = api.as_user(staff).post(
        f"/api/v1/meters/{meter.meter_id}/keys", {"name": "IR reader"}
    )
    assert response.status_code == 201
    assert response.data["key"].startswith("mk_")
    return meter, response.data


def _as_device(api, key):
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def test_it_lets_a_meter_key_submit_and_read_its_own_meter_only(api, meter_and_key):
    meter, issued = meter_and_key
    other = MeterFactory()
    client = _as_device(api, issued["key"])
    body = {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"}
    assert client.post(f"/api/v1/meters/{meter.meter_id}/readings", body).status_code == 201
    assert client.get(f"/api/v1/meters/{meter.meter_id}/readings").data["count"] == 1
    assert client.post(f"/api/v1/meters/{other.meter_id}/readings", body).status_code == 404
    bulk = client.post(
        "/api/v1/readings/bulk",
        {"readings": [{"meter_id": other.meter_id, "at": "2026-01-10T00:00Z", "import_kwh": 1}]},
    )
    assert bulk.data["results"][0]["code"] == "unknown_meter"
    assert [m["meter_id"] for m in client.get("/api/v1/meters").data["results"]] == [meter.meter_id]
    assert client.get("/api/v1/system/reception").status_code in (401, 403)
    assert Reading.objects.filter(meter=other).count() == 0


def test_it_refuses_a_revoked_or_unknown_meter_key(api, staff, meter_and_key):
    meter, issued = meter_and_key
    revoke = api.as_user(staff).post(f"/api/v1/meters/{meter.meter_id}/keys/{issued['id']}/revoke")
    assert revoke.status_code == 200 and revoke.data["revoked_at"]
    client = _as_device(api, issued["key"])
    body = {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"}
    assert client.post(f"/api/v1/meters/{meter.meter_id}/readings", body).status_code == 401
    client = _as_device(api, "mk_not-a-key")
    assert client.post(f"/api/v1/meters/{meter.meter_id}/readings", body).status_code == 401
    assert not Reading.objects.exists()


def test_it_lets_only_staff_create_meter_keys(api, customer):
    meter = MeterFactory(account=customer.customer_accounts.get())
    response = api.as_user(customer).post(f"/api/v1/meters/{meter.meter_id}/keys", {"name": "mine"})
    assert response.status_code == 403
    assert not meter.keys.exists()
