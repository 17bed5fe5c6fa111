"""Analyst reports as an attacker reads them: no subtraction of one report's rows, periods or
groupings from another's gives fewer households than ANALYTICS_MIN_GROUP_SIZE."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from meters import services
from meters.services import ReadingIn
from meters.timeutils import local_midnight

from .factories import MeterFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/consumption"
JANUARY = {"start": "2026-01-01", "end": "2026-02-01"}


def _days(meter, first: date, days: int, step: Decimal = Decimal("0.5")):
    """Whole local days of half-hourly readings from ``first``; ``step`` kWh per half-hour."""
    start = local_midnight(first, meter.tz)
    services.reading_ingest_bulk(
        items=[
            ReadingIn(
                meter_id=meter.meter_id,
                at=start + timedelta(minutes=30 * i),
                import_kwh=Decimal(100) + step * i,
            )
            for i in range(48 * days + 1)
        ],
        source="api",
    )


def _by_group(rows) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["group"]] = totals.get(row["group"], Decimal(0)) + Decimal(row["total_kwh"])
    return totals


@override_settings(ANALYTICS_MIN_GROUP_SIZE=3)
def test_it_gives_no_household_away_when_a_month_is_differenced_against_its_days(api, analyst):
    # London has three homes on 5 January but only one (a heavy user) reports on 6 January: the
    # 6th is a one-household cell. The North East (three homes) and Wales (four) report both
    # days; the North East, the smallest safe group, hides London's one home on the 6th.
    _days(MeterFactory(region="london"), date(2026, 1, 5), 2, step=Decimal("1.25"))
    for _ in range(2):
        _days(MeterFactory(region="london"), date(2026, 1, 5), 1)
    for region, homes in (("north_east", 3), ("wales", 4)):
        for _ in range(homes):
            _days(MeterFactory(region=region), date(2026, 1, 5), 2)
    analyst_api = api.as_user(analyst)

    months = analyst_api.get(URL, {**JANUARY, "resolution": "month"})
    days = analyst_api.get(URL, {**JANUARY, "resolution": "day"})

    assert months.status_code == days.status_code == 200
    # What an attacker subtracts: a group's month total minus its visible days. Whatever is
    # shown, the two agree, so the difference is nothing.
    assert _by_group(months.data) == _by_group(days.data)
    assert "london" not in _by_group(months.data)
    assert _by_group(days.data) == {"wales": Decimal(192)}


@override_settings(ANALYTICS_MIN_GROUP_SIZE=3)
def test_it_gives_no_household_away_when_the_page_and_its_csv_are_differenced(client, analyst):
    lonely = MeterFactory(region="london")
    _days(lonely, date(2026, 1, 5), 2)
    for _ in range(2):
        _days(MeterFactory(region="london"), date(2026, 1, 5), 1)
    client.force_login(analyst)

    page = client.get("/analyst/", {**JANUARY, "resolution": "month"})
    export = client.get("/analyst/export.csv", {**JANUARY, "resolution": "day"})

    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert page.status_code == export.status_code == 200
    assert page.context["report"]["rows"] == [] and page.context["report"]["totals"] == []
    assert rows == []


@override_settings(ANALYTICS_MIN_GROUP_SIZE=3)
def test_it_gives_no_household_away_when_one_grouping_is_differenced_against_another(api, analyst):
    # Every home is detached, so the dwelling-type report is the total of all homes; Wales has
    # one home. All regions' shown totals subtracted from it must not leave that one home.
    for region, homes in (("london", 3), ("north_east", 4), ("wales", 1)):
        for _ in range(homes):
            meter = MeterFactory(region=region, dwelling_type="detached")
            _days(meter, date(2026, 1, 5), 1)
    analyst_api = api.as_user(analyst)

    by_type = analyst_api.get(URL, {**JANUARY, "group_by": "dwelling_type", "resolution": "day"})
    by_region = analyst_api.get(URL, {**JANUARY, "group_by": "region", "resolution": "day"})

    assert by_type.status_code == by_region.status_code == 200
    all_homes = sum(row["meters"] for row in by_type.data)
    shown = sum(row["meters"] for row in by_region.data)
    assert all_homes == 8
    assert all_homes - shown >= 3  # the difference hides at least the minimum of homes
    assert [row["group"] for row in by_region.data] == ["north_east"]
