"""Gaps in interval data estimated from the meter's own profile (quality estimated), and an
actual read replacing an estimate through the correction path (issue #19)."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from meters.models import (
    CorrectionAction,
    DailyUsage,
    Reading,
    ReadingCorrection,
    ReadingQuality,
    ReadingSource,
)
from meters.services import ReadingIn, reading_ingest_bulk
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
HALF_HOUR = timedelta(minutes=30)
GAP_START = datetime(2026, 11, 8, tzinfo=LONDON)  # November: London is on UTC
GAP_END = datetime(2026, 11, 9, tzinfo=LONDON)


def _profiled_meter():
    """A week of half-hours using 0.1 kWh each before 06:00 and 0.5 kWh after (19.2 kWh a day),
    then one reading a day later that closes a day-long gap of the same 19.2 kWh."""
    meter = MeterFactory()
    at, value, items = datetime(2026, 11, 1, tzinfo=LONDON), Decimal(1000), []
    while at <= GAP_START:
        items.append(ReadingIn(meter_id=meter.meter_id, at=at, import_kwh=value))
        value += Decimal("0.1") if at.hour < 6 else Decimal("0.5")
        at += HALF_HOUR
    items.append(
        ReadingIn(
            meter_id=meter.meter_id, at=GAP_END, import_kwh=items[-1].import_kwh + Decimal("19.2")
        )
    )
    assert {r.status for r in reading_ingest_bulk(items=items, source="api")} == {"accepted"}
    return meter, items[-2].import_kwh


def estimates_url(meter) -> str:
    return f"/api/v1/meters/{meter.meter_id}/estimates"


def test_it_fills_a_gap_with_estimates_shaped_like_the_meters_own_days(api, staff):
    meter, opening = _profiled_meter()

    response = api.as_user(staff).post(
        estimates_url(meter), {"start": "2026-11-08T00:00:00Z", "end": "2026-11-09T00:00:00Z"}
    )

    assert response.status_code == 201, response.json()
    assert len(response.json()) == 47
    estimates = Reading.objects.filter(meter=meter, quality=ReadingQuality.ESTIMATED)
    assert estimates.count() == 47
    assert set(estimates.values_list("source", flat=True)) == {ReadingSource.ESTIMATE}
    # 12 night half-hours at 0.1, then the day's at 0.5: the profile, not a straight line.
    at_six = Reading.objects.get(meter=meter, at=GAP_START + 12 * HALF_HOUR)
    assert at_six.import_kwh == opening + Decimal("1.2")
    assert Reading.objects.get(meter=meter, at=GAP_START + 13 * HALF_HOUR).import_kwh == (
        opening + Decimal("1.7")
    )
    day = DailyUsage.objects.get(meter=meter, day=date(2026, 11, 8))
    assert (day.readings, day.import_kwh, day.has_gap) == (48, Decimal("19.2"), False)
    assert ReadingCorrection.objects.filter(action=CorrectionAction.ESTIMATE).count() == 47

    again = api.post(
        estimates_url(meter), {"start": "2026-11-08T00:00:00Z", "end": "2026-11-09T00:00:00Z"}
    )
    assert again.status_code == 201 and again.json() == []  # nothing missing any more


def test_an_actual_read_replaces_an_estimate_and_the_rest_of_the_gap_is_estimated_again(api, staff):
    meter, opening = _profiled_meter()
    client = api.as_user(staff)
    client.post(
        estimates_url(meter), {"start": "2026-11-08T00:00:00Z", "end": "2026-11-09T00:00:00Z"}
    )
    noon = GAP_START + 24 * HALF_HOUR
    estimated_noon = Reading.objects.get(meter=meter, at=noon).import_kwh
    actual = opening + Decimal("10")

    response = client.post(
        f"/api/v1/meters/{meter.meter_id}/readings",
        {"at": noon.astimezone(UTC).isoformat(), "import_kwh": str(actual)},
    )

    assert response.status_code == 201, response.json()
    stored = Reading.objects.get(meter=meter, at=noon)
    assert (stored.import_kwh, stored.quality, stored.source) == (actual, "actual", "api")
    replaced = ReadingCorrection.objects.get(action=CorrectionAction.REPLACE_ESTIMATE)
    assert (replaced.at, replaced.old_import_kwh, replaced.new_import_kwh) == (
        noon,
        estimated_noon,
        actual,
    )
    estimates = Reading.objects.filter(meter=meter, quality=ReadingQuality.ESTIMATED)
    assert estimates.count() == 46
    # The afternoon's estimates now climb from the actual read to the next day's reading.
    assert Reading.objects.get(meter=meter, at=noon + HALF_HOUR).import_kwh > actual
    day = DailyUsage.objects.get(meter=meter, day=date(2026, 11, 8))
    assert (day.readings, day.import_kwh) == (48, Decimal("19.2"))


def test_only_staff_estimate_gaps(api, customer):
    meter = MeterFactory(account=customer.customer_accounts.get())
    response = api.as_user(customer).post(
        estimates_url(meter), {"start": "2026-11-08T00:00:00Z", "end": "2026-11-09T00:00:00Z"}
    )
    assert response.status_code == 403
