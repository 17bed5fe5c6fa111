from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from config.exceptions import ApplicationError, Conflict, ServiceUnavailable
from meters import services
from meters.models import DailyUsage, MeterKind, Reading, ReceptionChange
from meters.services import ReadingIn

from .factories import MeterFactory

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 10, tzinfo=UTC)


def _series(meter_id, start, count, first_kwh=Decimal(100), step=Decimal("0.5")):
    return [
        ReadingIn(
            meter_id=meter_id, at=start + timedelta(minutes=30 * i), import_kwh=first_kwh + step * i
        )
        for i in range(count)
    ]


def test_it_accepts_a_batch_from_several_meters_and_reports_each_item():
    a, b = MeterFactory(), MeterFactory()
    items = _series(a.meter_id, JAN, 3) + _series(b.meter_id, JAN, 2)
    results = services.reading_ingest_bulk(items=items, source="mqtt")
    assert [r.status for r in results] == ["accepted"] * 5
    assert Reading.objects.filter(meter=a).count() == 3
    assert Reading.objects.filter(meter=b, source="mqtt").count() == 2
    a.refresh_from_db()
    assert a.last_seen == JAN + timedelta(hours=1)


def test_it_treats_a_replayed_batch_as_duplicates_and_changes_nothing():
    meter = MeterFactory()
    items = _series(meter.meter_id, JAN, 4)
    services.reading_ingest_bulk(items=items, source="mqtt")
    usage_before = list(DailyUsage.objects.values())
    results = services.reading_ingest_bulk(items=items, source="mqtt")
    assert {r.status for r in results} == {"duplicate"}
    assert Reading.objects.count() == 4
    assert [dict(u, updated_at=None) for u in DailyUsage.objects.values()] == [
        dict(u, updated_at=None) for u in usage_before
    ]


def test_it_rejects_a_different_value_at_a_stored_time_as_a_conflict():
    meter = MeterFactory()
    services.reading_ingest_bulk(items=_series(meter.meter_id, JAN, 2), source="api")
    item = ReadingIn(meter_id=meter.meter_id, at=JAN, import_kwh="99")
    [result] = services.reading_ingest_bulk(items=[item], source="api")
    assert result.status == "rejected" and result.code == "conflict"
    assert Reading.objects.get(meter=meter, at=JAN).import_kwh == Decimal(100)


def test_it_reports_unknown_meters_and_bad_values_per_item():
    meter = MeterFactory()
    items = [
        ReadingIn(meter_id="nope", at=JAN, import_kwh=1),
        ReadingIn(meter_id=meter.meter_id, at=JAN, import_kwh="abc"),
        ReadingIn(meter_id=meter.meter_id, at=JAN, import_kwh=-1),
        ReadingIn(meter_id=meter.meter_id, at=JAN + timedelta(minutes=10), import_kwh=1),
        ReadingIn(meter_id=meter.meter_id, at=timezone.now() + timedelta(hours=1), import_kwh=1),
        ReadingIn(meter_id=meter.meter_id, at=JAN, import_kwh=1),
    ]
    results = services.reading_ingest_bulk(items=items, source="api")
    assert [(r.status, r.code, r.field) for r in results] == [
        ("rejected", "unknown_meter", "meter_id"),
        ("rejected", "invalid", "import_kwh"),
        ("rejected", "invalid", "import_kwh"),
        ("rejected", "invalid", "at"),
        ("rejected", "invalid", "at"),
        ("accepted", "", ""),
    ]
    assert "future" in results[4].reason and ":30" in results[3].reason


def test_it_writes_nothing_from_an_atomic_batch_with_a_rejected_item():
    meter = MeterFactory()
    items = [*_series(meter.meter_id, JAN, 3), ReadingIn(meter_id="nope", at=JAN, import_kwh=1)]
    with pytest.raises(ApplicationError) as error:
        services.reading_ingest_bulk(items=items, source="api", atomic=True)
    statuses = [r["status"] for r in error.value.extra["results"]]
    assert statuses == ["skipped", "skipped", "skipped", "rejected"]
    assert not Reading.objects.exists()


def test_it_refuses_a_register_going_down_unless_marked_as_a_reset():
    meter = MeterFactory()
    services.reading_ingest_bulk(items=_series(meter.meter_id, JAN, 2), source="api")
    later = JAN + timedelta(hours=1)
    with pytest.raises(ApplicationError, match="went down"):
        services.reading_record(meter=meter, at=later, import_kwh="5", source="api")
    reading, created = services.reading_record(
        meter=meter, at=later, import_kwh="5", source="api", register_reset=True
    )
    assert created and reading.register_reset
    services.reading_record(
        meter=meter, at=later + timedelta(minutes=30), import_kwh="6", source="api"
    )
    usage = DailyUsage.objects.get(meter=meter)
    assert usage.import_kwh == Decimal("1.5")  # 0.5 before the exchange + 1 after; none across it


def test_it_refuses_a_backfilled_reading_above_the_next_stored_one():
    meter = MeterFactory()
    services.reading_record(meter=meter, at=JAN, import_kwh="10", source="api")
    services.reading_record(meter=meter, at=JAN + timedelta(hours=1), import_kwh="11", source="api")
    with pytest.raises(ApplicationError, match="higher than the later"):
        services.reading_record(
            meter=meter, at=JAN + timedelta(minutes=30), import_kwh="12", source="api"
        )
    services.reading_record(
        meter=meter, at=JAN + timedelta(minutes=30), import_kwh="10.4", source="api"
    )
    assert DailyUsage.objects.get(meter=meter).import_kwh == Decimal(1)


def test_it_raises_conflict_and_returns_the_duplicate_from_reading_record():
    meter = MeterFactory()
    first, created = services.reading_record(meter=meter, at=JAN, import_kwh="1.5", source="api")
    again, created_again = services.reading_record(
        meter=meter, at=JAN, import_kwh="1.50", source="api"
    )
    assert created and not created_again and first.pk == again.pk
    with pytest.raises(Conflict):
        services.reading_record(meter=meter, at=JAN, import_kwh="2", source="api")


def test_it_reads_naive_timestamps_in_the_meters_time_zone():
    meter = MeterFactory(timezone="Europe/London")
    reading, _ = services.reading_record(
        meter=meter, at=datetime(2026, 7, 1, 12, 0), import_kwh=1, source="api"
    )
    assert reading.at == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)
    with pytest.raises(ApplicationError, match="occurs twice"):
        services.reading_record(
            meter=meter, at=datetime(2026, 10, 25, 1, 30), import_kwh=2, source="api"
        )
    with pytest.raises(ApplicationError, match="does not exist"):
        services.reading_record(
            meter=meter, at=datetime(2026, 3, 29, 1, 30), import_kwh=2, source="api"
        )


def test_it_refuses_writes_while_reception_is_paused(staff):
    meter = MeterFactory()
    services.reception_set(user=staff, paused=True, reason="database upgrade")
    with pytest.raises(ServiceUnavailable) as error:
        services.reading_ingest_bulk(items=_series(meter.meter_id, JAN, 1), source="mqtt")
    assert "database upgrade" in error.value.message
    services.reception_set(user=staff, paused=False)
    services.reading_ingest_bulk(items=_series(meter.meter_id, JAN, 1), source="mqtt")
    assert ReceptionChange.objects.filter(changed_by=staff).count() == 2


def test_it_rolls_up_a_full_local_day_including_dst_days():
    for day, half_hours in (
        (date(2026, 3, 29), 46),
        (date(2026, 10, 25), 50),
        (date(2026, 1, 5), 48),
    ):
        meter = MeterFactory()
        start = datetime.combine(day, datetime.min.time(), tzinfo=meter.tz).astimezone(UTC)
        services.reading_ingest_bulk(
            items=_series(meter.meter_id, start, half_hours + 1),
            source="api",
        )
        usage = DailyUsage.objects.get(meter=meter, day=day)
        assert usage.intervals_expected == half_hours
        assert usage.readings == half_hours
        assert not usage.is_partial
        assert usage.import_kwh == Decimal("0.5") * half_hours


def test_it_marks_a_day_with_missing_half_hours_as_partial():
    meter = MeterFactory(kind=MeterKind.INTERVAL)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    items = _series(meter.meter_id, start, 49)
    del items[10]
    services.reading_ingest_bulk(items=items, source="api")
    usage = DailyUsage.objects.get(meter=meter, day=date(2026, 1, 5))
    assert usage.is_partial and usage.readings == 47 and usage.import_kwh == Decimal(24)


def test_it_updates_the_roll_up_of_a_day_between_new_readings():
    meter = MeterFactory(kind=MeterKind.LIVE)
    day = datetime(2026, 1, 5, tzinfo=UTC)
    services.reading_record(meter=meter, at=day, import_kwh=100, source="api")
    services.reading_record(meter=meter, at=day + timedelta(hours=36), import_kwh=110, source="api")
    assert DailyUsage.objects.get(meter=meter, day=date(2026, 1, 6)).import_kwh == Decimal(10)
    services.reading_ingest_bulk(
        items=[
            ReadingIn(meter_id=meter.meter_id, at=day + timedelta(hours=12), import_kwh=105),
            ReadingIn(meter_id=meter.meter_id, at=day + timedelta(hours=60), import_kwh=130),
        ],
        source="api",
    )
    usage = dict(DailyUsage.objects.filter(meter=meter).values_list("day", "import_kwh"))
    assert usage == {
        date(2026, 1, 5): Decimal(5),
        date(2026, 1, 6): Decimal(5),
        date(2026, 1, 7): Decimal(20),
    }


def _usage(meter):
    fields = ["day", "import_kwh", "export_kwh", "readings", "intervals_expected", "first_at"]
    fields += ["last_at", "covered_from", "has_gap", "is_partial"]
    return list(DailyUsage.objects.filter(meter=meter).order_by("day").values(*fields))


def _recomputed(meter):
    days = set(DailyUsage.objects.filter(meter=meter).values_list("day", flat=True))
    DailyUsage.objects.filter(meter=meter).delete()
    services.daily_usage_refresh(meter=meter, days=days)
    return _usage(meter)


@pytest.mark.parametrize(
    ("first_day", "half_hours"), [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50)]
)
def test_appended_batches_roll_up_as_a_full_recompute_does_across_a_dst_day(first_day, half_hours):
    """A live meter's batches only ever append: their roll-ups are updated from the stored row.
    Batches of odd sizes, replays, a 40-minute gap, a register reset and readings without an
    export register must give exactly what a recompute from the stored readings gives."""
    meter = MeterFactory(kind=MeterKind.LIVE)
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=meter.tz).astimezone(UTC)
    items, import_kwh, export_kwh, at = [], Decimal(500), Decimal(20), start
    while at <= start + timedelta(hours=36):
        step = timedelta(minutes=40) if len(items) == 100 else timedelta(minutes=7)
        at += step
        reset = len(items) == 200
        import_kwh = Decimal("3.2") if reset else import_kwh + Decimal("0.137")
        export_kwh += Decimal("0.011")
        items.append(
            ReadingIn(
                meter_id=meter.meter_id,
                at=at,
                import_kwh=import_kwh,
                export_kwh=None if len(items) % 9 == 0 else export_kwh,
                register_reset=reset,
            )
        )
    position, size = 0, 1
    while position < len(items):
        batch = items[position : position + size]
        replayed = items[max(0, position - 3) : position]  # a redelivery rides along
        results = services.reading_ingest_bulk(items=replayed + batch, source="mqtt")
        assert [r.status for r in results] == ["duplicate"] * len(replayed) + ["accepted"] * len(
            batch
        )
        position, size = position + size, size % 13 + 2
    incremental = _usage(meter)
    assert [u["day"] for u in incremental] == [first_day, first_day + timedelta(days=1)]
    dst_day = incremental[0]
    assert dst_day["intervals_expected"] == half_hours
    assert dst_day["has_gap"] and dst_day["is_partial"]  # the 40-minute gap
    assert dst_day["covered_from"] == items[0].at
    assert incremental == _recomputed(meter)


def test_a_live_day_becomes_complete_when_a_reading_reaches_midnight():
    meter = MeterFactory(kind=MeterKind.LIVE)
    day = date(2026, 1, 5)
    midnight = datetime(2026, 1, 5, tzinfo=UTC)
    services.reading_record(
        meter=meter, at=midnight - timedelta(minutes=5), import_kwh=10, source="api"
    )
    for minutes in range(10, 24 * 60, 10):
        services.reading_record(
            meter=meter,
            at=midnight + timedelta(minutes=minutes),
            import_kwh=10 + minutes / 100,
            source="api",
        )
    usage = DailyUsage.objects.get(meter=meter, day=day)
    assert usage.is_partial and not usage.has_gap  # in progress: the day is not over
    services.reading_record(
        meter=meter, at=midnight + timedelta(days=1), import_kwh=25, source="api"
    )
    usage = DailyUsage.objects.get(meter=meter, day=day)
    assert not usage.is_partial
    assert usage.import_kwh == Decimal(15)
    assert usage.readings == 24 * 6 + 1 - 1
    assert not DailyUsage.objects.filter(meter=meter, day=day + timedelta(days=1)).exists()
    assert _usage(meter)[1:] == _recomputed(meter)[1:]


def test_a_row_kept_before_covered_from_existed_is_recomputed_by_the_next_append():
    meter = MeterFactory(kind=MeterKind.LIVE)
    services.reading_ingest_bulk(items=_series(meter.meter_id, JAN, 5), source="api")
    # What a row written by the previous release looks like: no covered_from, no gap flag.
    DailyUsage.objects.filter(meter=meter).update(
        covered_from=None, import_kwh=Decimal(99), readings=1
    )
    services.reading_ingest_bulk(
        items=[ReadingIn(meter_id=meter.meter_id, at=JAN + timedelta(hours=3), import_kwh=103)],
        source="api",
    )
    usage = DailyUsage.objects.get(meter=meter)
    assert usage.covered_from == JAN
    assert (usage.import_kwh, usage.readings) == (Decimal(3), 5)


def test_a_late_reading_before_the_last_stored_one_recomputes_both_days_it_touches():
    meter = MeterFactory(kind=MeterKind.LIVE)
    day = datetime(2026, 1, 5, 23, tzinfo=UTC)
    services.reading_record(meter=meter, at=day, import_kwh=100, source="api")
    services.reading_record(meter=meter, at=day + timedelta(hours=2), import_kwh=104, source="api")
    assert DailyUsage.objects.get(meter=meter, day=date(2026, 1, 6)).has_gap
    services.reading_ingest_bulk(
        items=[
            ReadingIn(meter_id=meter.meter_id, at=day + timedelta(minutes=30), import_kwh=101),
            ReadingIn(meter_id=meter.meter_id, at=day + timedelta(minutes=60), import_kwh=102),
            ReadingIn(meter_id=meter.meter_id, at=day + timedelta(minutes=90), import_kwh=103),
        ],
        source="api",
    )
    before = _usage(meter)
    assert [(u["day"], u["import_kwh"], u["has_gap"]) for u in before] == [
        (date(2026, 1, 5), Decimal(2), False),
        (date(2026, 1, 6), Decimal(2), False),
    ]
    assert before == _recomputed(meter)
