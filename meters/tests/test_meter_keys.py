import re

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


def test_it_lets_a_meter_key_submit_readings_of_its_own_meter_only(api, meter_and_key):
    meter, issued = meter_and_key
    other = MeterFactory()
    client = _as_device(api, issued["key"])
    body = {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"}
    assert client.post(f"/api/v1/meters/{meter.meter_id}/readings", body).status_code == 201
    assert Reading.objects.filter(meter=meter).count() == 1
    assert client.post(f"/api/v1/meters/{other.meter_id}/readings", body).status_code == 404
    bulk = client.post(
        "/api/v1/readings/bulk",
        {"readings": [{"meter_id": other.meter_id, "at": "2026-01-10T00:00Z", "import_kwh": 1}]},
    )
    assert bulk.data["results"][0]["code"] == "unknown_meter"
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


def _api_read_doors() -> list[str]:
    """Every GET door of the API, as the schema generator sees the URL configuration: a door
    added later is covered without editing this list."""
    from drf_spectacular.generators import EndpointEnumerator

    return sorted(
        {
            path
            for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints()
            if method == "GET" and path.startswith("/api/v1/")
        }
    )


def _filled(door: str, meter_id: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: meter_id if m[1] == "meter_id" else "1", door)


@pytest.mark.parametrize("door", _api_read_doors())
def test_it_lets_a_meter_key_read_nothing(api, meter_and_key, door):
    meter, issued = meter_and_key
    account = meter.account
    body = {"at": "2026-01-10T00:00:00Z", "import_kwh": "1"}
    _as_device(api, issued["key"]).post(f"/api/v1/meters/{meter.meter_id}/readings", body)

    for method in ("get", "head", "options"):
        response = getattr(api, method)(_filled(door, meter.meter_id))
        text = response.content.decode(errors="replace")

        assert response.status_code in (401, 403, 404, 405), (method, door, text[:200])
        assert account.address not in text and account.postcode not in text


def test_it_refuses_a_meter_key_on_a_door_that_is_not_for_readings(api, meter_and_key):
    meter, issued = meter_and_key
    client = _as_device(api, issued["key"])

    response = client.post("/api/v1/meters", {"meter_id": "NEW-1", "account": meter.account_id})

    assert response.status_code == 403
    assert "only submit readings" in response.data["detail"]
