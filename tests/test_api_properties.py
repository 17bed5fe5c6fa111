"""Junk posted at the doors that store data (issue 12): whatever JSON arrives, the answer is a
2xx, or a 4xx in the API's error shape naming a field, never a 5xx; and a refused request stores
nothing. Hypothesis generates the bodies (derandomised, a fixed budget, no shrinking database)
and each is sent through the whole HTTP stack of the API client.

Also the error shape of Django's own answers under ``/api/`` (unknown paths, failed converters).
"""

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import StaffFactory, UserFactory
from batteries.models import BatteryReading
from batteries.tests.factories import BatteryFactory
from batteries.tests.factories import reading as battery_reading
from config import http_errors
from meters.models import Reading
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

BUDGET = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any JSON value, with the edges that once gave 500s: huge and tiny numbers, NUL and astral
# characters, dates of year 1 and 9999, offsets beyond ±14:00.
_EDGY_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "1e400",
        "-1e400",
        "1" + "0" * 400,
        "NaN",
        "Infinity",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:30:00-01:00",
        "2026-01-10T00:00:00+15:00",
        "1970-01-01T00:00:00Z",
        "2026-01-10T00:00:00Z",
        "2026-13-45",
        "\U0001f600",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | _EDGY_TEXT
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _fields_of(valid: dict) -> st.SearchStrategy:
    """A body shaped like ``valid``: each field kept, dropped or replaced by junk, plus junk
    keys, so generation reaches the field rules and not only the "expected an object" one."""
    keep_or_junk = {
        name: st.one_of(st.just(value), JSON_VALUES, _EDGY_TEXT) for name, value in valid.items()
    }
    return st.fixed_dictionaries(
        {}, optional=keep_or_junk | {"junk": JSON_VALUES, "raw": JSON_VALUES}
    )


def _bodies(valid: dict) -> st.SearchStrategy:
    return JSON_VALUES | _fields_of(valid)


def _assert_answered(response) -> dict:
    """2xx, or a 4xx with the error shape naming a field; the JSON body."""
    assert response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body.get("detail"), str), body
        if response.status_code == 400 and "results" in body:
            # The bulk door's all-or-nothing refusal: each rejected item names its field or code.
            rejected = [item for item in body["results"] if item["status"] == "rejected"]
            assert rejected and all(item.get("field") or item.get("code") for item in rejected)
        elif response.status_code == 400:
            fields = body.get("fields")
            assert isinstance(fields, dict) and fields, body
    return body


def _post(client, url, body):
    # allow_nan: NaN and Infinity are sent as the bare words a careless client writes.
    return client.post(url, json.dumps(body, allow_nan=True), content_type="application/json")


READING = {"at": "2026-01-10T00:00:00Z", "import_kwh": "12.5", "power_w": 300}


def test_it_answers_any_body_at_the_single_reading_door_and_stores_nothing_it_refuses(api):
    staff = StaffFactory()
    meter = MeterFactory()
    client = api.as_user(staff)
    url = f"/api/v1/meters/{meter.meter_id}/readings"

    @given(body=_bodies(READING))
    @BUDGET
    def check(body):
        before = Reading.objects.count()
        response = _post(client, url, body)
        _assert_answered(response)
        if response.status_code >= 400:
            assert Reading.objects.count() == before

    check()


def test_it_answers_any_body_at_the_bulk_door_and_stores_only_accepted_items(api):
    staff = StaffFactory()
    meter = MeterFactory()
    client = api.as_user(staff)
    item = READING | {"meter_id": meter.meter_id}
    bodies = JSON_VALUES | st.fixed_dictionaries(
        {"readings": st.lists(_bodies(item) | _fields_of(item), max_size=4)}
    )

    @given(body=bodies, atomic=st.booleans())
    @BUDGET
    def check(body, atomic):
        before = Reading.objects.count()
        url = "/api/v1/readings/bulk" + ("?atomic=true" if atomic else "")
        response = _post(client, url, body)
        answer = _assert_answered(response)
        stored = Reading.objects.count() - before
        if response.status_code >= 400:
            assert stored == 0
        else:
            assert stored == answer["accepted"], answer

    check()


def test_it_answers_any_body_at_the_battery_telemetry_door_and_stores_nothing_it_refuses(api):
    staff = StaffFactory()
    battery = BatteryFactory()
    client = api.as_user(staff)
    url = f"/api/v1/batteries/{battery.pk}/telemetry"

    @given(body=_bodies(battery_reading(timestamp="2026-01-10T00:00:00Z")))
    @BUDGET
    def check(body):
        before = BatteryReading.objects.count()
        response = _post(client, url, body)
        _assert_answered(response)
        if response.status_code >= 400:
            assert BatteryReading.objects.count() == before

    check()


FILTERS = ["started_after", "started_before", "connector_id", "active", "charger", "id_tag"]


@pytest.mark.parametrize(
    "path", ["/api/v1/charging/transactions", "/api/v1/charging/transactions.csv"]
)
def test_it_answers_any_charging_filter_with_results_or_a_400_naming_it(api, path):
    client = api.as_user(StaffFactory())
    values = _EDGY_TEXT | st.text(max_size=12).filter(lambda text: "\x00" not in text)

    @given(query=st.dictionaries(st.sampled_from(FILTERS), values, min_size=1))
    @BUDGET
    def check(query):
        response = client.get(path, query)
        assert response.status_code < 500, (query, response.status_code)
        if response.status_code >= 400:
            body = _assert_answered(response)
            assert set(body["fields"]) <= {*FILTERS, "query"}, body

    check()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/chargers/1.5",  # fails the int converter
        "/api/v1/charging/tags/abc",
        "/api/v1/no-such-endpoint",
        "/api/v2/meters",
    ],
)
def test_it_answers_404_under_the_api_in_its_json_error_shape(api, path):
    response = api.as_user(UserFactory()).get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail", "fields"}
    assert response.json()["fields"] == {}


def test_it_keeps_the_html_404_page_for_the_portal(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("month", ["2026-1*", "2026-0x", "2026-1a"])
def test_it_refuses_a_month_that_only_looks_like_yyyy_mm(api, month):
    response = api.as_user(StaffFactory()).post(
        "/api/v1/bills/runs", {"month": month}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "month" in response.json()["fields"]


def test_it_answers_405_under_the_api_in_its_json_error_shape(api):
    response = api.as_user(StaffFactory()).put("/api/v1/tariffs", {}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert "PUT" in response.json()["detail"]


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (http_errors.bad_request, 400),
        (http_errors.permission_denied, 403),
        (http_errors.page_not_found, 404),
        (http_errors.server_error, 500),
    ],
)
def test_it_answers_djangos_own_errors_in_json_under_the_api_and_in_html_elsewhere(
    rf, handler, status
):
    arguments = () if handler is http_errors.server_error else (Exception("boom"),)
    api_answer = handler(rf.get("/api/v1/meters"), *arguments)
    assert api_answer.status_code == status
    assert api_answer["Content-Type"] == "application/json"
    assert set(json.loads(api_answer.content)) == {"detail", "fields"}
    portal_answer = handler(rf.get("/meters/"), *arguments)
    assert portal_answer.status_code == status
    assert portal_answer["Content-Type"].startswith("text/html")
