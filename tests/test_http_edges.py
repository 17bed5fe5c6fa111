"""No HTTP input gives a 500 or hangs, and impossible dates and numbers are refused at every door
(issue 12). Through the real HTTP stack: the API client for most doors, a real daphne over a
socket where the transport decides (chunked bodies, oversize bodies, NUL bytes in paths)."""

import http.client
import importlib
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from rest_framework import serializers

from accounts.tests.factories import api_key_for
from batteries.models import Battery, BatteryReading
from batteries.tests.factories import BatteryFactory
from batteries.tests.factories import reading as battery_reading
from charging.tests.factories import ChargerFactory
from config import api_fields
from meters.models import Archive, Reading
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

JAN = "2026-01-10T00:00:00Z"
DEEP = "[" * 100_000 + "]" * 100_000


def _readings(meter):
    return f"/api/v1/meters/{meter.meter_id}/readings"


def _bulk(client, *items, **query):
    suffix = "?atomic=true" if query.get("atomic") else ""
    return client.post(
        f"/api/v1/readings/bulk{suffix}",
        json.dumps({"readings": list(items)}),
        content_type="application/json",
    )


def _post_json(client, url, text: str):
    return client.post(url, text, content_type="application/json")


def _assert_refused(response, *words):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) <= {"detail", "fields", "results"}, body
    for word in words:
        assert word in json.dumps(body), (word, body)


# ---- JSON bodies ---------------------------------------------------------------------------


class TestJsonBodies:
    @pytest.fixture
    def meter(self):
        return MeterFactory()

    def test_it_refuses_json_nested_100000_deep_at_the_single_and_bulk_reading_doors(
        self, api, staff, meter
    ):
        client = api.as_user(staff)
        _assert_refused(_post_json(client, _readings(meter), DEEP), "nested")
        _assert_refused(_post_json(client, "/api/v1/readings/bulk", DEEP), "nested")
        _assert_refused(
            _post_json(client, _readings(meter), json.dumps({"at": JAN, "import_kwh": 1}) + DEEP)
        )
        assert not Reading.objects.exists()

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_it_refuses_nan_and_infinity_inside_raw_before_any_write(
        self, api, staff, meter, constant
    ):
        item = f'{{"meter_id": "{meter.meter_id}", "at": "{JAN}", "import_kwh": 1, '
        body = f'{{"readings": [{item}"raw": {{"x": {constant}}}}}]}}'
        response = _post_json(api.as_user(staff), "/api/v1/readings/bulk", body)
        _assert_refused(response, "finite")
        assert not Reading.objects.exists()

    def test_it_refuses_nul_in_raw_and_in_bulk_meter_ids(self, api, staff, meter):
        client = api.as_user(staff)
        in_raw = {"meter_id": meter.meter_id, "at": JAN, "import_kwh": 1, "raw": {"a": "b\x00"}}
        _assert_refused(_bulk(client, in_raw), "NUL")
        in_id = {"meter_id": f"{meter.meter_id}\x00", "at": JAN, "import_kwh": 1}
        _assert_refused(_bulk(client, in_id), "NUL")
        assert not Reading.objects.exists()

    def test_it_refuses_a_400_digit_integer_in_a_reading_and_in_a_power(self, api, staff, meter):
        client = api.as_user(staff)
        huge = "1" + "0" * 400
        _assert_refused(
            _post_json(client, _readings(meter), f'{{"at": "{JAN}", "import_kwh": {huge}}}')
        )
        _assert_refused(
            _post_json(
                client, _readings(meter), f'{{"at": "{JAN}", "import_kwh": 1, "power_w": {huge}}}'
            )
        )
        assert not Reading.objects.exists()


# ---- numbers and dates in readings ----------------------------------------------------------


class TestReadings:
    @pytest.fixture
    def meter(self):
        return MeterFactory()

    @pytest.mark.parametrize(
        ("body", "field", "rule"),
        [
            ({"at": "1970-01-01T00:00:00Z", "import_kwh": "1000"}, "at", "earliest"),
            ({"at": "0001-01-01T00:00:00Z", "import_kwh": "1"}, "at", "earliest"),
            ({"at": "0001-01-01T00:00:00+01:00", "import_kwh": "1"}, "at", "range"),
            ({"at": "9999-12-31T23:30:00-01:00", "import_kwh": "1"}, "at", "range"),
            ({"at": "9999-12-31T23:30:00", "import_kwh": "1"}, "at", "range"),
            ({"at": "2026-01-10T00:00:00+15:00", "import_kwh": "1"}, "at", "14:00"),
            ({"at": JAN, "import_kwh": "1e400"}, "import_kwh", "large"),
            ({"at": JAN, "import_kwh": "1" + "0" * 400}, "import_kwh", ""),
            ({"at": JAN, "import_kwh": "1", "power_w": "1e400"}, "power_w", "number"),
            ({"at": JAN, "import_kwh": "1", "power_w": "1" + "0" * 400}, "power_w", ""),
            ({"at": JAN, "import_kwh": "1", "export_kwh": "-1e400"}, "export_kwh", ""),
        ],
    )
    def test_it_refuses_impossible_dates_and_numbers_at_the_single_door(
        self, api, staff, meter, body, field, rule
    ):
        response = api.as_user(staff).post(_readings(meter), body)
        _assert_refused(response, field, rule)
        assert response.json()["detail"].startswith(field)
        assert not Reading.objects.exists()

    @pytest.mark.parametrize(
        ("at", "import_kwh", "rule"),
        [
            ("1970-01-01T00:00:00Z", 1000, "earliest"),
            ("0001-01-01T00:00:00Z", 1, "earliest"),
            ("0001-01-01T00:00:00+01:00", 1, "range"),
            ("9999-12-31T23:30:00-01:00", 1, "range"),
            ("2026-01-10T00:00:00+23:00", 1, "14:00"),
            (JAN, "1e400", "large"),
            (JAN, "1" + "0" * 400, ""),
        ],
    )
    def test_it_refuses_them_per_item_in_bulk_with_the_index(
        self, api, staff, meter, at, import_kwh, rule
    ):
        good = {"meter_id": meter.meter_id, "at": JAN, "import_kwh": 5}
        bad = {"meter_id": meter.meter_id, "at": at, "import_kwh": import_kwh}
        response = _bulk(api.as_user(staff), good, bad)
        assert response.status_code == 200, response.content[:300]
        result = response.json()["results"][1]
        assert (result["index"], result["status"], result["code"]) == (1, "rejected", "invalid")
        assert rule in result["reason"]
        assert list(Reading.objects.values_list("import_kwh", flat=True)) == [5]

    def test_it_refuses_powers_and_raw_the_json_parser_cannot_see_in_bulk(self, api, staff, meter):
        # A power as a 400-digit text and a raw that is not an object never reach the database.
        items = [
            {"meter_id": meter.meter_id, "at": JAN, "import_kwh": 1, "power_w": "1" + "0" * 400},
            {"meter_id": meter.meter_id, "at": JAN, "import_kwh": 1, "raw": [1]},
        ]
        results = _bulk(api.as_user(staff), *items).json()["results"]
        assert [r["field"] for r in results] == ["power_w", "raw"]
        assert not Reading.objects.exists()

    def test_it_still_rounds_a_register_to_the_stored_places(self, api, staff, meter):
        response = api.as_user(staff).post(_readings(meter), {"at": JAN, "import_kwh": "1.23456"})
        assert response.status_code == 201, response.content
        assert response.json()["import_kwh"] == "1.2346"


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01T00:00:00%2B01:00",
        "end=9999-12-31T23:59:59-01:00",
        "start=9999-12-31T23:59:59",
        "after=2026-01-01T00:00:00%2B20:00",
    ],
)
def test_it_refuses_query_datetimes_that_overflow_or_have_impossible_offsets(api, staff, query):
    meter = MeterFactory()
    client = api.as_user(staff)
    base = f"/api/v1/meters/{meter.meter_id}"
    name = query.split("=")[0]
    _assert_refused(client.get(f"{base}/readings?{query}"), name)
    value = query.split("=", 1)[1]
    for url in (
        f"{base}/consumption/series?period_from={value}&period_to=2026-01-02T00:00:00Z",
        f"{base}/consumption?from={value}&to=2026-01-02T00:00:00Z",
        f"{base}/stats?start={value}&end=2026-01-02T00:00:00Z",
        f"{base}/export.csv?start={value}&end=2026-01-02T00:00:00Z",
    ):
        assert client.get(url).status_code == 400, url


# ---- filters --------------------------------------------------------------------------------


class TestFilters:
    @pytest.mark.parametrize(
        "value", ["2026-01-01T00:00:00%2B23:00", "0001-01-01T00:00:00%2B01:00", "yesterday"]
    )
    def test_it_refuses_bad_started_after_on_the_list_and_the_csv_alike(self, api, staff, value):
        ChargerFactory()
        client = api.as_user(staff)
        for url in ("/api/v1/charging/transactions", "/api/v1/charging/transactions.csv"):
            response = client.get(f"{url}?started_after={value}")
            _assert_refused(response, "started_after")

    def test_it_answers_the_csv_filtered_as_the_list(self, api, staff):
        response = api.as_user(staff).get(
            "/api/v1/charging/transactions.csv?started_before=2026-01-01T00:00:00%2B01:00"
        )
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"transaction_id")

    def test_it_refuses_a_revoked_at_offset_postgresql_cannot_hold(self, api, customer):
        response = api.as_user(customer).get("/api/v1/tokens?revoked_at=2026-01-01T00:00%2B20:00")
        _assert_refused(response, "revoked_at", "14:00")


# ---- months: bill runs and archives --------------------------------------------------------


class TestMonths:
    @pytest.mark.parametrize("month", ["0001-01", "1970-01", "2026-13", "2026-00", "0000-00"])
    def test_it_refuses_impossible_bill_runs(self, api, staff, month):
        response = api.as_user(staff).post("/api/v1/bills/runs", {"month": month})
        _assert_refused(response, "month")

    def test_it_refuses_a_bill_filter_that_is_not_a_month(self, api, staff):
        _assert_refused(api.as_user(staff).get("/api/v1/bills?month=0000-00"), "month")

    @pytest.mark.parametrize("door", ["/api/v1/system/archives", "/api/v1/system/archives/restore"])
    def test_it_refuses_archives_for_month_0001_01(self, api, staff, door):
        response = api.as_user(staff).post(door, {"kind": "monthly", "period_start": "0001-01-01"})
        _assert_refused(response, "period_start", "earliest")
        assert not Archive.objects.exists()


# ---- batteries ------------------------------------------------------------------------------


class TestBatteryTelemetry:
    @pytest.mark.parametrize(
        "timestamp", ["0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "1970-01-01T00:00:00Z"]
    )
    def test_it_refuses_a_year_1_reading_and_the_battery_stays_deletable(
        self, api, staff, timestamp
    ):
        battery = BatteryFactory()
        client = api.as_user(staff)
        response = client.post(
            f"/api/v1/batteries/{battery.pk}/telemetry", battery_reading(timestamp=timestamp)
        )
        _assert_refused(response, "timestamp")
        assert not BatteryReading.objects.exists()
        assert client.delete(f"/api/v1/batteries/{battery.pk}").status_code == 200
        assert not Battery.objects.exists()

    def test_it_still_takes_a_reading_without_a_timestamp(self, api, staff):
        battery = BatteryFactory()
        body = battery_reading()
        del body["timestamp"]
        response = api.as_user(staff).post(f"/api/v1/batteries/{battery.pk}/telemetry", body)
        assert response.status_code == 201, response.content


# ---- the mechanism stays in place -----------------------------------------------------------

API_MODULES = [f"{app}.api.serializers" for app in ("meters", "batteries", "charging", "billing")]
UNBOUNDED = (
    serializers.DateTimeField,
    serializers.DecimalField,
    serializers.FloatField,
    serializers.JSONField,
)
BOUNDED = (
    api_fields.DateTimeField,
    api_fields.DecimalField,
    api_fields.FloatField,
    api_fields.JSONField,
)


def _input_fields():
    for name in API_MODULES:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if not (isinstance(cls, type) and issubclass(cls, serializers.Serializer)):
                continue
            if cls.__module__ != module.__name__:
                continue
            try:
                fields = cls().fields
            except Exception:  # noqa: S112 - one that needs context is checked by use
                continue
            for field_name, field in fields.items():
                if not field.read_only:
                    yield f"{name}.{cls.__name__}.{field_name}", field


def test_it_builds_every_input_datetime_decimal_float_and_json_field_from_the_bounded_ones():
    unbounded = [
        name
        for name, field in _input_fields()
        if isinstance(field, UNBOUNDED) and not isinstance(field, BOUNDED)
    ]
    assert unbounded == []


def test_it_uses_the_bounded_json_parser_and_filter_backend_by_default():
    rest = settings.REST_FRAMEWORK
    assert rest["DEFAULT_PARSER_CLASSES"][0] == "config.api_fields.JSONParser"
    assert rest["DEFAULT_FILTER_BACKENDS"] == ["config.api_fields.FilterBackend"]


# ---- through a real daphne ------------------------------------------------------------------


def _raw_request(server, method, path, *, body=None, headers=None, chunks=None):
    """One request over a real socket (http.client), so daphne frames the body as a client did."""
    connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=30)
    try:
        if chunks is not None:
            connection.putrequest(method, path)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            for chunk in chunks:
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.send(b"0\r\n\r\n")
        else:
            connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


@pytest.mark.usefixtures("transactional_db")
class TestThroughDaphne:
    def test_it_reads_a_chunked_bulk_body_under_daphne(self, daphne_server, staff):
        meter = MeterFactory()
        body = json.dumps(
            {"readings": [{"meter_id": meter.meter_id, "at": JAN, "import_kwh": 7}]}
        ).encode()
        status, _, content = _raw_request(
            daphne_server,
            "POST",
            "/api/v1/readings/bulk",
            headers={
                "Authorization": f"Token {api_key_for(staff)}",
                "Content-Type": "application/json",
            },
            chunks=[body[:20], body[20:]],
        )
        assert status == 200, content
        assert json.loads(content)["accepted"] == 1
        assert Reading.objects.filter(meter=meter).count() == 1

    def test_it_reads_a_chunked_single_reading_under_daphne(self, daphne_server, staff):
        meter = MeterFactory()
        body = json.dumps({"at": JAN, "import_kwh": 7}).encode()
        status, _, content = _raw_request(
            daphne_server,
            "POST",
            _readings(meter),
            headers={
                "Authorization": f"Token {api_key_for(staff)}",
                "Content-Type": "application/json",
            },
            chunks=[body[:5], body[5:]],
        )
        assert status == 201, content

    @pytest.mark.parametrize("chunked", [False, True])
    def test_it_answers_413_in_the_api_shape_for_a_body_over_the_limit(
        self, daphne_server, staff, chunked
    ):
        meter = MeterFactory()
        body = b'{"at": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
        headers = {
            "Authorization": f"Token {api_key_for(staff)}",
            "Content-Type": "application/json",
        }
        status, content_type, content = _raw_request(
            daphne_server,
            "POST",
            _readings(meter),
            headers=headers,
            body=None if chunked else body,
            chunks=[body] if chunked else None,
        )
        assert status == 413, content[:300]
        assert content_type.startswith("application/json")
        assert "larger than" in json.loads(content)["detail"]

    def test_it_answers_413_in_the_api_shape_for_an_oversize_form_body(self, daphne_server, staff):
        body = b"name=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
        status, content_type, content = _raw_request(
            daphne_server,
            "POST",
            "/api/v1/tokens",
            headers={
                "Authorization": f"Token {api_key_for(staff)}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=body,
        )
        assert status == 413, content[:300]
        assert content_type.startswith("application/json")

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/meters/%00",
            "/api/v1/batteries/%00/history",
            "/api/v1/meters?account=%00",
            "/meters/%00/",
            "/bills/%00",
            "/login/%00",
        ],
    )
    def test_it_answers_400_never_500_for_nul_in_a_url(self, daphne_server, staff, path):
        status, _, content = _raw_request(
            daphne_server, "GET", path, headers={"Authorization": f"Token {api_key_for(staff)}"}
        )
        assert status == 400, (status, content[:300])
        if path.startswith("/api/"):
            assert "NUL" in json.loads(content)["detail"]


def test_it_leaves_aware_datetimes_from_clients_in_utc():
    field = api_fields.DateTimeField(plausible=True)
    value = field.run_validation("2026-01-10T01:00:00+01:00")
    assert value == datetime(2026, 1, 10, tzinfo=UTC)
