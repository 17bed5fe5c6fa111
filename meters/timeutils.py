"""Local calendar arithmetic: days, weeks and months begin at local midnight, so a day in
Europe/London has 46, 48 or 50 half-hours."""

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

HALF_HOUR = timedelta(minutes=30)
JUST_BEFORE = timedelta(microseconds=1)


@functools.lru_cache(maxsize=8192)
def local_midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``tz``. (Cached: every ingest batch asks it of
    the same few days for each of its meters.)"""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


@functools.lru_cache(maxsize=8192)
def half_hours_in_day(day: date, tz: zoneinfo.ZoneInfo) -> int:
    start, end = day_bounds(day, tz)
    return int((end - start) / HALF_HOUR)


def local_day(at: datetime, tz: zoneinfo.ZoneInfo) -> date:
    return at.astimezone(tz).date()


def interval_day(at: datetime, tz: zoneinfo.ZoneInfo) -> date:
    """The local day of the interval that ends at ``at``: a reading at midnight closes the
    previous day's last half-hour."""
    return (at - JUST_BEFORE).astimezone(tz).date()


def localise(naive: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """Read a naive wall-clock time in ``tz``. Raises ValueError for a time that does not exist
    (spring forward) or occurs twice (autumn back): only an offset can say which was meant."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != naive:
            raise ValueError("does not exist in the local time zone (clocks went forward)")
        raise ValueError("occurs twice in the local time zone (clocks went back); add an offset")
    return first.astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def as_utc(value: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """An aware time in UTC; a naive one read in ``tz`` (see ``localise``)."""
    if value.tzinfo is None:
        return localise(value, tz)
    return value.astimezone(UTC)
