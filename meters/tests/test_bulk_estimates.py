"""Actual reads arriving through the bulk door replace estimates (issue #19) by the correction
path the single-reading door uses: audit record, gap estimated again, roll-ups, listeners."""

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
)
from meters.services import (
    ReadingIn,
    corrections,
    meter_key_create,
    reading_gaps_estimate,
    reading_ingest_bulk,
)

from .factories import MeterFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
HALF_HOUR = timedelta(minutes=30)
GAP_START = datetime(2026, 11, 8, tzinfo=LONDON)  # November: London is on UTC
GAP_END = datetime(2026, 11, 9, tzinfo=LONDON)
NOON = GAP_START + 24 * HALF_HOUR
EVENING = GAP_START + 36 * HALF_HOUR
BULK = "/api/v1/readings/bulk"


@pytest.fixture
def estimated():
    """A meter with a week of half-hours, then a day-long gap filled by reading_gaps_estimate
    (47 estimates between the actual readings at GAP_START and GAP_END)."""
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
    assert len(reading_gaps_estimate(meter=meter, start=GAP_START, end=GAP_END)) == 47
    return meter


@pytest.fixture
def changes(monkeypatch):
    """The ReadingChanges the listeners are told of (billing's listener stays registered)."""
    told = []

    def listener(*, change):
        told.append(change)
        return []

    monkeypatch.setattr(corrections, "_listeners", [*corrections._listeners, listener])
    return told


def _item(meter, at, kwh):
    return {"meter_id": meter.meter_id, "at": at.astimezone(UTC).isoformat(), "import_kwh": kwh}


def _estimates(meter):
    return Reading.objects.filter(meter=meter, quality=ReadingQuality.ESTIMATED)


def _replaced():
    return ReadingCorrection.objects.filter(action=CorrectionAction.REPLACE_ESTIMATE)


def test_actual_bulk_reads_replace_estimates_with_one_re_estimate_of_their_gap(
    api, staff, estimated, changes
):
    meter, other = estimated, MeterFactory()
    old = {at: Reading.objects.get(meter=meter, at=at).import_kwh for at in (NOON, EVENING)}
    opening = Reading.objects.get(meter=meter, at=GAP_START).import_kwh
    noon_kwh, evening_kwh = opening + Decimal(10), opening + Decimal(15)
    readings = [
        _item(meter, NOON, str(noon_kwh)),
        _item(other, NOON, "5"),
        _item(meter, EVENING, str(evening_kwh)),
    ]

    response = api.as_user(staff).post(BULK, {"readings": readings})

    assert response.status_code == 200, response.data
    assert [r["status"] for r in response.data["results"]] == ["accepted"] * 3
    assert response.data["accepted"] == 3
    for at, kwh in ((NOON, noon_kwh), (EVENING, evening_kwh)):
        stored = Reading.objects.get(meter=meter, at=at)
        assert (stored.import_kwh, stored.quality, stored.source) == (kwh, "actual", "api")
        record = _replaced().get(at=at)
        assert (record.old_import_kwh, record.new_import_kwh) == (old[at], kwh)
        assert (record.old_quality, record.new_quality, record.made_by) == (
            "estimated",
            "actual",
            staff,
        )
    assert _estimates(meter).count() == 45
    # The gap was estimated again around the actual reads: registers climb through them.
    assert noon_kwh < Reading.objects.get(meter=meter, at=NOON + HALF_HOUR).import_kwh
    assert Reading.objects.get(meter=meter, at=EVENING - HALF_HOUR).import_kwh < evening_kwh
    day = DailyUsage.objects.get(meter=meter, day=date(2026, 11, 8))
    assert (day.readings, day.import_kwh) == (48, Decimal("19.2"))
    # One gap, told once: from the actual reading before it to the one after it.
    told = [change for change in changes if change.meter == meter]
    assert [(c.start, c.end) for c in told] == [(GAP_START, GAP_END)]

    again = api.as_user(staff).post(BULK, {"readings": readings})

    assert again.status_code == 200
    assert [r["status"] for r in again.data["results"]] == ["duplicate"] * 3
    assert (_replaced().count(), _estimates(meter).count()) == (2, 45)
    assert len(changes) == len(told)


def test_a_bulk_read_conflicting_with_an_actual_reading_is_still_a_conflict(api, staff, estimated):
    meter = estimated
    estimate = Reading.objects.get(meter=meter, at=NOON).import_kwh
    readings = [_item(meter, NOON, str(estimate + 1)), _item(meter, GAP_END, "1")]
    client = api.as_user(staff)

    response = client.post(f"{BULK}?atomic=true", {"readings": readings})

    assert response.status_code == 409, response.data
    assert [r["status"] for r in response.data["results"]] == ["skipped", "rejected"]
    assert Reading.objects.get(meter=meter, at=NOON).quality == ReadingQuality.ESTIMATED
    assert (_replaced().count(), _estimates(meter).count()) == (0, 47)

    response = client.post(BULK, {"readings": readings})

    statuses = [(r["status"], r.get("code")) for r in response.data["results"]]
    assert statuses == [("accepted", None), ("rejected", "conflict")]
    assert "already stored" in response.data["results"][1]["reason"]
    assert Reading.objects.get(meter=meter, at=NOON).quality == ReadingQuality.ACTUAL
    assert _replaced().count() == 1


def test_an_actual_read_that_breaks_a_register_rule_leaves_the_estimates(api, staff, estimated):
    meter = estimated
    closing = Reading.objects.get(meter=meter, at=GAP_END).import_kwh
    readings = [_item(meter, NOON, str(closing + 1))]  # above the reading that ends the gap
    client = api.as_user(staff)

    response = client.post(BULK, {"readings": readings})

    assert response.status_code == 200
    [result] = response.data["results"]
    assert (result["status"], result["code"], result["field"]) == (
        "rejected",
        "invalid",
        "import_kwh",
    )
    assert "higher than the later reading" in result["reason"]
    assert (_replaced().count(), _estimates(meter).count()) == (0, 47)

    response = client.post(f"{BULK}?atomic=true", {"readings": readings})

    assert response.status_code == 400
    assert [r["status"] for r in response.data["results"]] == ["rejected"]
    assert (_replaced().count(), _estimates(meter).count()) == (0, 47)


def test_a_meter_keys_bulk_read_replaces_an_estimate_with_no_user_on_the_record(api, estimated):
    meter = estimated
    issued = meter_key_create(meter=meter, name="IR reader")
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    opening = Reading.objects.get(meter=meter, at=GAP_START).import_kwh

    response = api.post(BULK, {"readings": [_item(meter, NOON, str(opening + 10))]})

    assert response.status_code == 200, response.data
    assert response.data["accepted"] == 1
    record = _replaced().get()
    assert (record.at, record.made_by) == (NOON, None)
