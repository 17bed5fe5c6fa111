import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from xml.etree import ElementTree

import pytest
from django.test import override_settings

from accounts.tests.factories import CustomerAccountFactory
from meters import selectors, services
from meters.services import ReadingIn
from meters.timeutils import local_midnight

from .factories import MeterFactory

pytestmark = pytest.mark.django_db


def _load(meter, start, count, first=Decimal(100), step=Decimal("0.5"), **extra):
    services.reading_ingest_bulk(
        items=[
            ReadingIn(
                meter_id=meter.meter_id,
                at=start + timedelta(minutes=30 * i),
                import_kwh=first + step * i,
                **extra,
            )
            for i in range(count)
        ],
        source="api",
    )


def _day_start(meter, day):
    return local_midnight(day, meter.tz)


def _get(api, user, meter, path, **params):
    return api.as_user(user).get(f"/api/v1/meters/{meter.meter_id}/{path}", params)


def test_it_answers_consumption_for_a_custom_range(api, staff):
    meter = MeterFactory()
    start = _day_start(meter, date(2026, 1, 5))
    _load(meter, start, 49)
    response = _get(
        api, staff, meter, "consumption", **{"from": "2026-01-05T00:00", "to": "2026-01-06T00:00"}
    )
    assert response.status_code == 200, response.data
    assert response.data["consumption_kwh"] == "24.0000"
    assert response.data["readings"] == 49 and response.data["is_complete"] is True
    half = _get(
        api, staff, meter, "consumption", **{"from": "2026-01-05T12:00", "to": "2026-01-07"}
    )
    assert half.data["consumption_kwh"] == "12.0000" and half.data["is_complete"] is False


@pytest.mark.parametrize(
    ("period", "kwh", "complete"),
    [
        ("last_30min", "0.5", True),
        ("today", "10", False),
        ("this_week", "82", False),
        ("this_month", "106", False),
        ("last_month", "745", True),  # October: 31 days, one of them 50 half-hours
    ],
)
def test_it_answers_named_periods_from_the_meters_calendar(period, kwh, complete):
    meter = MeterFactory()
    start = _day_start(meter, date(2026, 10, 1))
    now = datetime(2026, 11, 5, 10, 10, tzinfo=UTC)
    _load(meter, start, int((now - start) / timedelta(minutes=30)) + 1)
    result = selectors.consumption_for_period(meter=meter, period=period, now=now)
    assert (result["consumption_kwh"], result["is_complete"]) == (Decimal(kwh), complete)


def test_it_answers_a_named_period_through_the_api(api, staff):
    meter = MeterFactory()
    now = datetime.now(UTC)
    now = now.replace(minute=now.minute // 30 * 30, second=0, microsecond=0)
    _load(meter, now - timedelta(hours=2), 5)
    response = _get(api, staff, meter, "consumption", period="last_30min")
    assert response.status_code == 200, response.data
    assert response.data["consumption_kwh"] == "0.5000" and response.data["is_complete"]


def test_it_says_404_when_a_period_has_fewer_than_two_readings(api, staff):
    meter = MeterFactory()
    _load(meter, datetime(2026, 1, 5, tzinfo=UTC), 1)
    response = _get(
        api, staff, meter, "consumption", **{"from": "2026-01-05T00:00Z", "to": "2026-01-06T00:00Z"}
    )
    assert response.status_code == 404 and "Fewer than two readings" in response.data["detail"]
    assert _get(api, staff, meter, "consumption", period="yesterday").status_code == 400


def test_it_counts_energy_across_a_meter_exchange(api, staff):
    meter = MeterFactory()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    _load(meter, start, 3, first=Decimal(500))
    services.reading_record(
        meter=meter,
        at=start + timedelta(minutes=90),
        import_kwh=0,
        register_reset=True,
        source="api",
    )
    _load(meter, start + timedelta(minutes=120), 2, first=Decimal("0.5"))
    response = _get(
        api, staff, meter, "consumption", **{"from": start.isoformat(), "to": "2026-01-06T00:00Z"}
    )
    # 500 -> 501 on the old register, 0 -> 1 on the new; the exchange interval counts nothing.
    assert response.data["consumption_kwh"] == "2.0000"
    assert response.data["readings"] == 6


def test_it_splits_dst_days_into_46_and_50_half_hours(api, staff):
    for day, half_hours in ((date(2026, 3, 29), 46), (date(2026, 10, 25), 50)):
        meter = MeterFactory()
        _load(meter, _day_start(meter, day), half_hours + 1)
        params = {
            "period_from": f"{day.isoformat()}T00:00",
            "period_to": f"{(day + timedelta(days=1)).isoformat()}T00:00",
            "page_size": 100,
        }
        rows = _get(api, staff, meter, "consumption/series", **params).data
        assert rows["count"] == half_hours
        assert {r["consumption"] for r in rows["results"]} == {"0.5000"}
        hours = _get(api, staff, meter, "consumption/series", group_by="hour", **params).data
        assert hours["count"] == half_hours // 2
        days = _get(api, staff, meter, "consumption/series", group_by="day", **params).data
        assert days["count"] == 1
        assert Decimal(days["results"][0]["consumption"]) == Decimal("0.5") * half_hours
        assert days["results"][0]["interval_start"].startswith(day.isoformat())


def test_it_groups_by_week_and_month_on_local_boundaries(api, staff):
    meter = MeterFactory()
    _load(meter, _day_start(meter, date(2026, 3, 1)), 48 * 61 + 1, step=Decimal("0.25"))
    params = {"period_from": "2026-03-01T00:00", "period_to": "2026-05-01T00:00"}
    months = _get(api, staff, meter, "consumption/series", group_by="month", **params).data
    # March 2026 has a 46-half-hour day: 31 * 48 - 2 half-hours.
    assert [Decimal(r["consumption"]) for r in months["results"]] == [
        Decimal("0.25") * (31 * 48 - 2),
        Decimal("0.25") * 30 * 48,
    ]
    newest_first = _get(
        api, staff, meter, "consumption/series", group_by="week", order_by="-period", **params
    ).data["results"]
    assert newest_first[0]["interval_start"] > newest_first[-1]["interval_start"]
    assert newest_first[-1]["interval_start"].startswith("2026-02-23")  # the Monday before


def test_it_polls_raw_readings_after_a_time_and_downsamples(api, staff):
    meter = MeterFactory()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    _load(meter, start, 100)
    after = _get(api, staff, meter, "readings", after=(start + timedelta(hours=49)).isoformat())
    assert after.data["count"] == 1
    sampled = _get(api, staff, meter, "readings", max_points=10).data
    assert sampled["count"] == 10
    assert sampled["results"][-1]["at"] == (start + timedelta(minutes=30 * 99)).isoformat().replace(
        "+00:00", "Z"
    )
    bounded = _get(
        api,
        staff,
        meter,
        "readings",
        start=start.isoformat(),
        end=(start + timedelta(hours=1)).isoformat(),
    )
    assert bounded.data["count"] == 2


def test_it_works_out_interval_power_for_a_meter_that_measures_none(api, staff):
    meter = MeterFactory(kind="interval")
    start = datetime(2026, 1, 5, tzinfo=UTC)
    steps = [Decimal("0.5"), Decimal("1.0"), Decimal("0.25")]  # kWh in each half-hour
    registers = [Decimal(100)]
    for step in steps:
        registers.append(registers[-1] + step)
    services.reading_ingest_bulk(
        items=[
            ReadingIn(meter_id=meter.meter_id, at=start + timedelta(minutes=30 * n), import_kwh=kwh)
            for n, kwh in enumerate(registers)
        ],
        source="api",
    )

    stats = _get(
        api, staff, meter, "stats", start=start.isoformat(), end="2026-01-05T01:30:00Z"
    ).data

    assert (stats["min_power_w"], stats["max_power_w"]) == (500.0, 2000.0)
    assert stats["avg_power_w"] == pytest.approx(1750 / 1.5)


def test_it_answers_latest_stats_and_summary(api, staff):
    meter = MeterFactory(kind="live")
    start = datetime(2026, 1, 5, tzinfo=UTC)
    _load(meter, start, 49, power_w=250.0)
    latest = _get(api, staff, meter, "readings/latest").data
    assert latest["import_kwh"] == "124.0000"
    stats = _get(
        api, staff, meter, "stats", start=start.isoformat(), end="2026-01-06T00:00:00Z"
    ).data
    assert stats["readings"] == 49 and stats["energy_kwh"] == "24.0000"
    assert stats["max_power_w"] == stats["min_power_w"] == 250.0
    summary = _get(api, staff, meter, "energy-summary", days=3).data
    assert summary["meter_id"] == meter.meter_id
    empty = MeterFactory()
    assert _get(api, staff, empty, "readings/latest").status_code == 404


def test_it_exports_csv_for_the_customer_of_the_meter_only(api, customer):
    meter = MeterFactory(account=customer.customer_accounts.get())
    other = MeterFactory(account=CustomerAccountFactory())
    _load(meter, datetime(2026, 1, 5, tzinfo=UTC), 3)
    params = {"start": "2026-01-05T00:00Z", "end": "2026-01-06T00:00Z"}
    response = _get(api, customer, meter, "export.csv", **params)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["import_kwh"] for r in rows] == ["100.0000", "100.5000", "101.0000"]
    assert rows[0]["at"] == "2026-01-05T00:00:00+00:00"
    assert _get(api, customer, other, "export.csv", **params).status_code == 404


@override_settings(ANALYTICS_MIN_GROUP_SIZE=2)
def test_it_gives_analysts_aggregates_without_personal_data(api, analyst, customer):
    for region, count in (("london", 3), ("north_east", 2), ("wales", 1)):
        for _ in range(count):
            meter = MeterFactory(region=region)
            _load(meter, _day_start(meter, date(2026, 1, 5)), 49)
    url = "/api/v1/analytics/consumption"
    params = {"start": "2026-01-01", "end": "2026-02-01", "group_by": "region"}
    response = api.as_user(analyst).get(url, params)
    assert response.status_code == 200
    assert response.data == [
        {
            "group": "london",
            "period": "2026-01-01",
            "meters": 3,
            "total_kwh": "72.0000",
            "average_kwh_per_meter": "24.0000",
        }
    ]  # Wales has one meter: left out, and the North East with it so that one is not the
    # difference between all meters and the regions shown
    assert api.as_user(customer).get(url, params).status_code == 403


def test_it_exports_green_button_xml_with_one_block_per_local_day(api, staff, customer):
    meter = MeterFactory()
    _load(meter, _day_start(meter, date(2026, 10, 25)), 50 + 48 + 1)
    response = _get(
        api, staff, meter, "green-button", start="2026-10-25T00:00", end="2026-10-27T00:00"
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/atom+xml"
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own document
    espi = "{http://naesb.org/espi}"
    blocks = root.findall(f".//{espi}IntervalBlock")
    assert [len(b.findall(f"{espi}IntervalReading")) for b in blocks] == [50, 48]
    assert {v.text for v in root.iter(f"{espi}value")} == {"500"}
    assert root.find(f".//{espi}ReadingType/{espi}uom").text == "72"
    assert (
        _get(api, customer, meter, "green-button", start="2026-10-25", end="2026-10-26").status_code
        == 404
    )


def test_it_summarises_daily_energy_with_averages_of_complete_days():
    meter = MeterFactory()
    _load(meter, _day_start(meter, date(2026, 1, 5)), 3 * 48 + 1)
    _load(meter, _day_start(meter, date(2026, 1, 8)), 10, first=Decimal(172))
    summary = selectors.energy_summary(meter=meter, days=3, today=date(2026, 1, 8))
    assert [(d["day"], d["import_kwh"], d["is_partial"]) for d in summary["days"]] == [
        (date(2026, 1, 6), Decimal(24), False),
        (date(2026, 1, 7), Decimal(24), False),
        (date(2026, 1, 8), Decimal("4.5"), True),
    ]
    assert [d["moving_average_30d_kwh"] for d in summary["days"]] == [Decimal(24)] * 3
    assert summary["average_daily_kwh_last_year"] == Decimal(24)
    assert summary["moving_average_30d_kwh"] == Decimal(24)


def test_it_downsamples_a_range_by_time_keeping_real_readings_and_the_last(api, staff):
    meter = MeterFactory()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    _load(meter, start, 480)  # ten days, half-hourly
    end = start + timedelta(days=10)

    sampled = selectors.readings_raw(meter=meter, start=start, end=end, max_points=50)

    times = [reading.at for reading in sampled]
    assert len(times) <= 50
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] == start and times[-1] == start + timedelta(minutes=30 * 479)
    assert all(
        reading.import_kwh
        == 100 + Decimal("0.5") * int((reading.at - start) / timedelta(minutes=30))
        for reading in sampled
    )
    assert max(b - a for a, b in pairwise(times)) <= timedelta(hours=6)


def test_it_returns_every_reading_when_there_are_fewer_than_max_points(api, staff):
    meter = MeterFactory()
    start = datetime(2026, 3, 2, tzinfo=UTC)
    _load(meter, start, 6)  # three hours of a year-long range

    sampled = selectors.readings_raw(
        meter=meter,
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2027, 1, 1, tzinfo=UTC),
        max_points=100,
    )

    assert [reading.at for reading in sampled] == [
        start + timedelta(minutes=30 * i) for i in range(6)
    ]


def test_it_refuses_an_analyst_report_longer_than_three_years(api, analyst):
    response = api.as_user(analyst).get(
        "/api/v1/analytics/consumption",
        {"start": "1900-01-01", "end": "2100-01-01", "resolution": "day"},
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "end: a report covers at most three years."
