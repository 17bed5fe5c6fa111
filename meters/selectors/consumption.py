"""Which meters a user may read, period bounds, and the energy used over a period or per bucket."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    QuerySet,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from accounts.permissions import scope_to_user
from config.exceptions import ApplicationError, NotFound

from ..authentication import MeterDevice
from ..models import KWH_PLACES, Meter, MeterKind, Reading
from ..timeutils import (
    HALF_HOUR,
    as_utc,
    day_bounds,
    local_day,
    local_midnight,
    month_start,
    next_month,
)


def meters_for_user(*, user: "User | MeterDevice") -> QuerySet[Meter]:
    """Staff: every meter; customers: their accounts' meters; a meter key: its meter; anyone
    else: none."""
    meters = Meter.objects.select_related("account")
    if isinstance(user, MeterDevice):
        return meters.filter(pk=user.meter_id)
    return scope_to_user(meters, user)


def meter_for_user(*, user: User, meter_id: str) -> Meter:
    """The meter with this public id if the user may see it; otherwise NotFound (404, not 403,
    so nobody learns which meter ids exist)."""
    meter = meters_for_user(user=user).filter(meter_id=meter_id).first()
    if meter is None:
        raise NotFound(f"No meter {meter_id!r}.")
    return meter


# --- Readings and consumption -----------------------------------------------------------------

KWH_QUANTUM = Decimal(1).scaleb(-KWH_PLACES)
PERIODS = ("last_30min", "today", "this_week", "this_month", "last_month")
GROUP_BY = ("half_hour", "hour", "day", "week", "month")
# A live meter's readings are not aligned to the half-hour: a reading this close to a period's
# edge counts as reading the edge.
LIVE_EDGE_TOLERANCE = timedelta(minutes=5)


def utc_in_meter_zone(value: datetime | None, meter: Meter, name: str) -> datetime | None:
    """``value`` in UTC, a naive time read in the meter's time zone; a time that does not exist
    or is ambiguous on a clock-change day is refused naming the parameter ``name``."""
    if value is None:
        return None
    try:
        return as_utc(value, meter.tz)
    except ValueError as exc:
        raise ApplicationError(f"{name}: {value.isoformat()} {exc}.", field=name) from exc


def period_bounds(*, meter: Meter, period: str, now: datetime) -> tuple[datetime, datetime]:
    """The UTC bounds [start, end) of a named period in the meter's local calendar."""
    tz = meter.tz
    today = local_day(now, tz)
    if period == "last_30min":
        end = now.replace(minute=30 if now.minute >= 30 else 0, second=0, microsecond=0)
        return end - HALF_HOUR, end
    if period == "today":
        return day_bounds(today, tz)
    if period == "this_week":
        monday = today - timedelta(days=today.weekday())
        return local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz)
    if period == "this_month":
        first = month_start(today)
        return local_midnight(first, tz), local_midnight(next_month(first), tz)
    if period == "last_month":
        first = month_start(month_start(today) - timedelta(days=1))
        return local_midnight(first, tz), local_midnight(month_start(today), tz)
    raise ApplicationError(f"period: must be one of {', '.join(PERIODS)}.", field="period")


@dataclass(frozen=True)
class _Edges:
    first_at: datetime | None
    first_kwh: Decimal | None
    last_at: datetime | None
    last_kwh: Decimal | None
    count: int
    has_reset: bool


_EDGES_SQL = """
SELECT f.at, f.import_kwh, l.at, l.import_kwh,
       (SELECT count(*) FROM {table} WHERE meter_id = %s AND at >= %s AND at <= %s),
       EXISTS(SELECT 1 FROM {table}
               WHERE meter_id = %s AND register_reset AND at > f.at AND at <= %s)
  FROM (SELECT at, import_kwh FROM {table} WHERE meter_id = %s AND at >= %s AND at <= %s
         ORDER BY at LIMIT 1) f,
       (SELECT at, import_kwh FROM {table} WHERE meter_id = %s AND at >= %s AND at <= %s
         ORDER BY at DESC LIMIT 1) l
"""


def _edges(meter: Meter, start: datetime, end: datetime) -> _Edges:
    """First and last reading in [start, end], how many there are, and whether a meter exchange
    lies between them: one statement of index scans on (meter, at). Plain SQL because this is
    the hottest read of all and the ORM's compilation cost several times the query's."""
    adapt = connection.ops.adapt_datetimefield_value
    first, last = adapt(start), adapt(end)
    window = [meter.pk, first, last]
    with connection.cursor() as cursor:
        cursor.execute(
            _EDGES_SQL.format(table=Reading._meta.db_table),
            [*window, meter.pk, last, *window, *window],
        )
        row = cursor.fetchone()
    if row is None:
        return _Edges(None, None, None, None, 0, False)
    first_at, first_kwh, last_at, last_kwh, count, has_reset = row
    return _Edges(
        first_at=_as_datetime(first_at),
        first_kwh=_as_kwh(first_kwh),
        last_at=_as_datetime(last_at),
        last_kwh=_as_kwh(last_kwh),
        count=count,
        has_reset=bool(has_reset),
    )


def _as_datetime(value) -> datetime:
    """PostgreSQL answers aware datetimes; SQLite naive ones (or text) in UTC."""
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_kwh(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(KWH_QUANTUM)


def _energy(meter: Meter, edges: _Edges) -> Decimal:
    """Import energy from the first to the last reading: the register difference, or, across a
    meter exchange, the sum of the intervals either side of it."""
    if not edges.has_reset:
        return edges.last_kwh - edges.first_kwh
    total = Decimal(0)
    previous = None
    for value, reset in (
        meter.readings.filter(at__gte=edges.first_at, at__lte=edges.last_at)
        .order_by("at")
        .values_list("import_kwh", "register_reset")
        .iterator()
    ):
        if previous is not None and not reset:
            total += value - previous
        previous = value
    return total


def consumption_for_period(
    *,
    meter: Meter,
    period: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> dict:
    """Energy used in a named period or between ``start`` and ``end``: the first reading at or
    after the start and the last at or before the end, their difference, the number of readings
    and whether the period is over and read at both edges. NotFound with fewer than two
    readings."""
    now = now or timezone.now()
    if period:
        start, end = period_bounds(meter=meter, period=period, now=now)
    else:
        start = utc_in_meter_zone(start, meter, "from")
        end = utc_in_meter_zone(end, meter, "to")
        if start is None or end is None:
            raise ApplicationError("Give a period, or both from and to.", field="period")
        if end <= start:
            raise ApplicationError("to: must be after from.", field="to")
    edges = _edges(meter, start, end)
    if edges.count < 2:
        raise NotFound(
            f"Fewer than two readings of meter {meter.meter_id} between {start.isoformat()} and "
            f"{end.isoformat()}: consumption cannot be worked out."
        )
    tolerance = LIVE_EDGE_TOLERANCE if meter.kind == MeterKind.LIVE else timedelta(0)
    complete = (
        end <= now and edges.first_at - start <= tolerance and end - edges.last_at <= tolerance
    )
    return {
        "meter_id": meter.meter_id,
        "period": period or "custom",
        "start": start,
        "end": end,
        "start_reading": {"at": edges.first_at, "import_kwh": edges.first_kwh},
        "end_reading": {"at": edges.last_at, "import_kwh": edges.last_kwh},
        "consumption_kwh": _energy(meter, edges),
        "readings": edges.count,
        "is_complete": complete,
    }


def _bucket_start(at: datetime, group_by: str, tz) -> datetime:
    """Start of the bucket holding the interval that ends at ``at``."""
    inside = at - timedelta(microseconds=1)
    if group_by == "half_hour":
        return inside.replace(minute=30 if inside.minute >= 30 else 0, second=0, microsecond=0)
    if group_by == "hour":
        return inside.replace(minute=0, second=0, microsecond=0)
    day = inside.astimezone(tz).date()
    return local_midnight(_day_bucket(day, group_by), tz)


def _day_bucket(day: date, group_by: str) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())
    if group_by == "month":
        return month_start(day)
    return day


def _bucket_end(bucket_start: datetime, group_by: str, tz) -> datetime:
    if group_by == "half_hour":
        return bucket_start + HALF_HOUR
    if group_by == "hour":
        return bucket_start + timedelta(hours=1)
    first = bucket_start.astimezone(tz).date()
    following = {
        "day": first + timedelta(days=1),
        "week": first + timedelta(days=7),
        "month": next_month(first),
    }[group_by]
    return local_midnight(following, tz)


def interval_series(
    *,
    meter: Meter,
    period_from: datetime,
    period_to: datetime,
    group_by: str = "half_hour",
    order_by: str = "period",
) -> list[dict]:
    """Consumption per interval, like the Octopus Energy API: intervals starting in
    [period_from, period_to), each {interval_start, interval_end, consumption}. An interval's
    energy is that of the readings that close its half-hours; days, weeks and months follow the
    meter's local calendar (a DST day has 46 or 50 half-hours). Day-sized groups read the daily
    roll-ups when the range starts and ends at local midnight. Intervals without data are left
    out. ``order_by``: "period" (oldest first) or "-period"."""
    if group_by not in GROUP_BY:
        raise ApplicationError(f"group_by: must be one of {', '.join(GROUP_BY)}.", field="group_by")
    if order_by not in ("period", "-period"):
        raise ApplicationError('order_by: must be "period" or "-period".', field="order_by")
    tz = meter.tz
    start = utc_in_meter_zone(period_from, meter, "period_from")
    end = utc_in_meter_zone(period_to, meter, "period_to")
    if end <= start:
        raise ApplicationError("period_to: must be after period_from.", field="period_to")
    buckets: dict[datetime, Decimal] = {}
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    whole_days = local_start.time() == local_end.time() == datetime.min.time()
    if group_by in ("day", "week", "month") and whole_days:
        rows = meter.daily_usage.filter(
            day__gte=local_start.date(), day__lt=local_end.date()
        ).values_list("day", "import_kwh")
        for day, kwh in rows:
            key = local_midnight(_day_bucket(day, group_by), tz)
            buckets[key] = buckets.get(key, Decimal(0)) + kwh
    else:
        previous = (
            meter.readings.filter(at__lte=start)
            .order_by("-at")
            .values_list("import_kwh", flat=True)[:1]
        )
        last_value = previous[0] if previous else None
        rows = (
            meter.readings.filter(at__gt=start, at__lte=end)
            .order_by("at")
            .values_list("at", "import_kwh", "register_reset")
        )
        for at, value, reset in rows.iterator():
            if last_value is not None:
                key = _bucket_start(at, group_by, tz)
                delta = Decimal(0) if reset else value - last_value
                buckets[key] = buckets.get(key, Decimal(0)) + delta
            last_value = value
    keys = sorted(buckets, reverse=order_by == "-period")
    return [
        {
            "interval_start": key.astimezone(tz),
            "interval_end": _bucket_end(key, group_by, tz).astimezone(tz),
            "consumption": buckets[key],
        }
        for key in keys
    ]
