"""Daily roll-ups (DailyUsage) of the stored readings: appended to after a live batch,
recomputed after a backfill, and refreshed on request."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db.models import Q

from config.database import array_cursor
from meters.models import (
    DailyUsage,
    Meter,
)
from meters.timeutils import HALF_HOUR, day_bounds, half_hours_in_day, interval_day

from .storage import _stored_series
from .validation import LockedMeter, _Candidate, _Point, _Series


@dataclass
class _DayTotals:
    """One meter-day's roll-up being built interval by interval: from nothing (a recompute) or
    from its stored row (readings appended after the last stored one)."""

    day: date
    import_kwh: Decimal = Decimal(0)
    export_kwh: Decimal | None = None
    readings: int = 0
    covered_from: datetime | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    has_gap: bool = False

    def add(self, before: _Point, point: _Point) -> None:
        """The interval (before, point], which ends in this day, after every interval so far."""
        self.readings += 1
        if self.first_at is None:
            self.first_at, self.covered_from = point.at, before.at
        self.last_at = point.at
        # A reset register's energy of the interval is unknown: it counts none, and the day is
        # not whole (has_gap). The other register's energy of the interval counts.
        if point.register_reset or point.export_register_reset:
            self.has_gap = True
        if not point.register_reset:
            self.import_kwh += point.import_kwh - before.import_kwh
        if point.export_kwh is not None and before.export_kwh is not None:
            exported = Decimal(0)
            if not point.export_register_reset:
                exported = point.export_kwh - before.export_kwh
            self.export_kwh = (self.export_kwh or Decimal(0)) + exported
        if point.at - before.at > HALF_HOUR:
            self.has_gap = True

    def as_row(self, meter: Meter | LockedMeter) -> "_RollupRow":
        start, end = day_bounds(self.day, meter.tz)
        complete = not self.has_gap and self.covered_from <= start and self.last_at >= end
        return _RollupRow(
            meter_id=meter.pk,
            day=self.day,
            import_kwh=self.import_kwh,
            export_kwh=self.export_kwh,
            readings=self.readings,
            intervals_expected=half_hours_in_day(self.day, meter.tz),
            first_at=self.first_at,
            last_at=self.last_at,
            covered_from=self.covered_from,
            has_gap=self.has_gap,
            is_partial=not complete,
        )


class _RollupRow(NamedTuple):
    """A DailyUsage row to store, field for field."""

    meter_id: int
    day: date
    import_kwh: Decimal
    export_kwh: Decimal | None
    readings: int
    intervals_expected: int
    first_at: datetime
    last_at: datetime
    covered_from: datetime
    has_gap: bool
    is_partial: bool


# A stored DailyUsage row as _DayTotals(*values), in the dataclass's order.
_TOTALS_FIELDS = [
    "day",
    "import_kwh",
    "export_kwh",
    "readings",
    "covered_from",
    "first_at",
    "last_at",
    "has_gap",
]


def _rollup(
    meter: Meter | LockedMeter, days: set[date], series: _Series
) -> tuple[list[_RollupRow], set[date]]:
    """The DailyUsage rows of ``days`` computed from ``series`` (which covers those days), and
    the days that no longer have any interval."""
    totals: dict[date, _DayTotals] = {}
    previous = series.before
    for point in sorted(series.points, key=lambda point: point.at):
        day = interval_day(point.at, meter.tz)
        if day in days and previous is not None:
            totals.setdefault(day, _DayTotals(day=day)).add(previous, point)
        previous = point
    return [total.as_row(meter) for total in totals.values()], days - set(totals)


_ROLLUP_UPSERT = """
INSERT INTO {table} (meter_id, day, import_kwh, export_kwh, readings, intervals_expected,
                     first_at, last_at, covered_from, has_gap, is_partial, updated_at)
SELECT *, now() FROM unnest(%b::bigint[], %b::date[], %b::numeric[], %b::numeric[], %b::int[],
                            %b::smallint[], %b::timestamptz[], %b::timestamptz[],
                            %b::timestamptz[], %b::boolean[], %b::boolean[])
ON CONFLICT (meter_id, day) DO UPDATE SET
    import_kwh = excluded.import_kwh, export_kwh = excluded.export_kwh,
    readings = excluded.readings, intervals_expected = excluded.intervals_expected,
    first_at = excluded.first_at, last_at = excluded.last_at,
    covered_from = excluded.covered_from, has_gap = excluded.has_gap,
    is_partial = excluded.is_partial, updated_at = excluded.updated_at
"""


def _rollups_save(rows: list[_RollupRow], emptied: dict[int, set[date]]) -> None:
    for meter_pk, days in emptied.items():
        if days:
            DailyUsage.objects.filter(meter_id=meter_pk, day__in=days).delete()
    if not rows:
        return
    if settings.DATABASE_IS_POSTGRES:
        # One statement from arrays: the ORM's bulk upsert spends longer building its SQL than
        # PostgreSQL spends running it, on every ingest batch.
        with array_cursor() as cursor:
            cursor.execute(
                _ROLLUP_UPSERT.format(table=DailyUsage._meta.db_table),
                [list(column) for column in zip(*rows, strict=True)],
            )
        return
    DailyUsage.objects.bulk_create(
        [DailyUsage(**row._asdict()) for row in rows],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["meter", "day"],
        update_fields=[
            "import_kwh",
            "export_kwh",
            "readings",
            "intervals_expected",
            "first_at",
            "last_at",
            "covered_from",
            "has_gap",
            "is_partial",
            "updated_at",
        ],
    )


def daily_usage_refresh(*, meter: Meter, days: set[date]) -> None:
    """Recompute a meter's roll-ups for ``days`` from its stored readings."""
    if not days:
        return
    start, _ = day_bounds(min(days), meter.tz)
    _, end = day_bounds(max(days), meter.tz)
    rows, emptied = _rollup(meter, set(days), _stored_series({meter.pk: (start, end)})[meter.pk])
    _rollups_save(rows, {meter.pk: emptied})


def _stored_totals(keys: list[tuple[int, date]]) -> list[tuple]:
    """The stored roll-ups of these (meter, day) pairs as (meter_id, *_TOTALS_FIELDS) rows."""
    if not settings.DATABASE_IS_POSTGRES:
        wanted = Q()
        for pk, day in keys:
            wanted |= Q(meter_id=pk, day=day)
        return list(DailyUsage.objects.filter(wanted).values_list("meter_id", *_TOTALS_FIELDS))
    with array_cursor() as cursor:
        cursor.execute(
            f"SELECT d.meter_id, {', '.join('d.' + name for name in _TOTALS_FIELDS)} "  # noqa: S608
            f"FROM {DailyUsage._meta.db_table} d "
            "JOIN unnest(%b::bigint[], %b::date[]) AS k(meter_id, day) USING (meter_id, day)",
            [[pk for pk, _ in keys], [day for _, day in keys]],
        )
        return cursor.fetchall()


def _rollups_appended(
    appended: dict[int, tuple[_Point | None, list[_Candidate]]],
) -> tuple[list[_RollupRow], dict[int, list[_Candidate]]]:
    """Roll-ups of meters whose new readings all follow their last stored one (a live meter,
    every batch): each day's stored row plus the new intervals, no stored reading read. Returns
    the rows, and the meters to recompute instead (a stored row from before ``covered_from``
    was kept)."""
    if not appended:
        return [], {}
    days_of = {
        pk: {interval_day(c.at, candidates[0].meter.tz) for c in candidates}
        for pk, (_, candidates) in appended.items()
    }
    stored = {
        (row[0], row[1]): _DayTotals(*row[1:])
        for row in _stored_totals([(pk, day) for pk, days in days_of.items() for day in days])
    }
    rows: list[_RollupRow] = []
    stale: dict[int, list[_Candidate]] = {}
    for pk, (previous, candidates) in appended.items():
        kept = [stored.get((pk, day)) for day in days_of[pk]]
        if any(total is not None and total.covered_from is None for total in kept):
            stale[pk] = candidates
            continue
        meter = candidates[0].meter
        totals: dict[date, _DayTotals] = {}
        for candidate in candidates:
            if previous is not None:
                day = interval_day(candidate.at, meter.tz)
                if day not in totals:
                    totals[day] = stored.get((pk, day)) or _DayTotals(day=day)
                totals[day].add(previous, candidate)
            previous = candidate
        rows.extend(total.as_row(meter) for total in totals.values())
    return rows, stale


def _rollups_recomputed(
    inserted: dict[int, list[_Candidate]], series: dict[int, _Series]
) -> list[_RollupRow]:
    """Roll-ups of meters with new readings among stored ones (a backfill, a late reading):
    every day of a new reading, and the day of the stored reading that now follows one, read
    again from the stored readings (the new ones included)."""
    if not inserted:
        return []
    windows: dict[int, tuple[datetime, datetime]] = {}
    days_of: dict[int, set[date]] = {}
    for pk, candidates in inserted.items():
        tz = candidates[0].meter.tz
        # interval_day never decreases with time: the extremes give the day range.
        first_day = interval_day(candidates[0].at, tz)
        last_day = interval_day(candidates[-1].at, tz)
        days = {first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)}
        following = series[pk].after
        if following is not None:
            # Nothing is stored between the batch and that reading: the window stays small.
            days.add(interval_day(following.at, tz))
        days_of[pk] = days
        windows[pk] = (day_bounds(min(days), tz)[0], day_bounds(max(days), tz)[1])
    stored = _stored_series(windows)
    rows: list[_RollupRow] = []
    for pk, candidates in inserted.items():
        # Adding readings never leaves a day without intervals, so nothing to delete here.
        day_rows, _emptied = _rollup(candidates[0].meter, days_of[pk], stored[pk])
        rows.extend(day_rows)
    return rows
