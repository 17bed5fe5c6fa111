"""Planning horizons: half-hour slots from now, ready-by times in local time."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from meters.timeutils import HALF_HOUR


@dataclass(frozen=True)
class Horizon:
    now: datetime
    starts_at: datetime  # UTC start of slot 0 (the half-hour now is in)
    slots: int

    @property
    def first_slot_fraction(self) -> float:
        """How much of the half-hour now is still ahead."""
        return (self.starts_at + HALF_HOUR - self.now) / HALF_HOUR

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + self.slots * HALF_HOUR

    def slot_start(self, index: int) -> datetime:
        return self.starts_at + index * HALF_HOUR


def slot_floor(at: datetime) -> datetime:
    """The start of the half-hour ``at`` is in (UTC; every zone we serve is offset by whole
    half-hours)."""
    at = at.astimezone(UTC)
    return at.replace(minute=0 if at.minute < 30 else 30, second=0, microsecond=0)


def next_local_time(*, after: datetime, at: time) -> datetime:
    """The next instant, after ``after``, at which the local clock (settings.TIME_ZONE) shows
    ``at``. A time that occurs twice (clocks going back) is its first occurrence; one skipped by
    the clocks going forward is read with the offset before the change (01:30 on that day is
    02:30 summer time), so the car is ready no earlier than asked."""
    tz = timezone.get_default_timezone()
    day = after.astimezone(tz).date()
    for offset in (0, 1, 2):
        candidate = datetime.combine(day + timedelta(days=offset), at, tzinfo=tz).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a local time recurs within two days")


def horizon_until(*, now: datetime, until: datetime) -> Horizon:
    """The whole half-hours from the one now is in up to ``until`` (a slot that ends after it is
    not one the goal can use)."""
    starts_at = slot_floor(now)
    return Horizon(now=now, starts_at=starts_at, slots=max(int((until - starts_at) / HALF_HOUR), 0))
