"""Every read of meters and readings that is more than ``.get()``, scoped to the requesting user."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from accounts.permissions import scope_to_user
from config.exceptions import ApplicationError, NotFound

from .authentication import MeterDevice
from .models import KWH_PLACES, DailyUsage, Meter, MeterKind, Reading, Reception
from .timeutils import (
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


def readings_raw(
    *,
    meter: Meter,
    start: datetime | None = None,
    end: datetime | None = None,
    after: datetime | None = None,
    max_points: int | None = None,
) -> QuerySet[Reading] | list[Reading]:
    """Readings in [start, end) and/or strictly after ``after``, oldest first. With
    ``max_points``, at most that many: every n-th reading and always the last one (registers are
    cumulative, so consumption between the points stays exact)."""
    readings = meter.readings.order_by("at")
    if start is not None:
        readings = readings.filter(at__gte=utc_in_meter_zone(start, meter, "start"))
    if end is not None:
        readings = readings.filter(at__lt=utc_in_meter_zone(end, meter, "end"))
    if after is not None:
        readings = readings.filter(at__gt=utc_in_meter_zone(after, meter, "after"))
    if not max_points:
        return readings
    if not readings[max_points : max_points + 1].exists():  # few enough: every one of them
        return list(readings)
    if start is not None and after is None and settings.DATABASE_IS_POSTGRES:
        start = utc_in_meter_zone(start, meter, "start")
        end = utc_in_meter_zone(end, meter, "end") if end is not None else timezone.now()
        # One bucket is kept for the range's last reading, which is always shown.
        step = (end - start) / max(1, max_points - 1)
        return readings_sampled(meter=meter, start=start, end=end, step=step)
    total = readings.count()
    step = -(-total // max_points)
    numbered = readings.annotate(n=Window(RowNumber(), order_by=F("at").asc()))
    picked = list(numbered.annotate(r=F("n") % step).filter(Q(r=0) | Q(n=total)))
    return picked[-max_points:]


def readings_sampled(
    *, meter: Meter, start: datetime, end: datetime, step: timedelta
) -> list[Reading]:
    """The first reading in each ``step``-wide bucket of [start, end), and the last reading of
    the range (PostgreSQL). One index probe per bucket (a LATERAL join on the (meter, at) index),
    so a year of 10-second readings is sampled in milliseconds, where numbering every row reads
    all of them. The points are real readings: consumption between them stays exact."""
    table = Reading._meta.db_table
    sql = f"""
        SELECT r.* FROM generate_series(%s::timestamptz, %s::timestamptz, %s::interval) AS edge
        CROSS JOIN LATERAL (
            SELECT * FROM {table}
            WHERE meter_id = %s AND at >= edge AND at < LEAST(edge + %s::interval, %s::timestamptz)
            ORDER BY at LIMIT 1
        ) AS r
        ORDER BY r.at
    """  # noqa: S608 - the table name is the model's; every value is a parameter
    step = max(step, timedelta(milliseconds=1))
    points = list(Reading.objects.raw(sql, [start, end, step, meter.pk, step, end]))
    last = meter.readings.filter(at__gte=start, at__lt=end).order_by("-at").first()
    if last is not None and (not points or points[-1].at != last.at):
        points.append(last)
    return points


def reading_latest(*, meter: Meter) -> Reading:
    reading = meter.readings.order_by("-at").first()
    if reading is None:
        raise NotFound(f"Meter {meter.meter_id} has no readings yet.")
    return reading


def reading_stats(*, meter: Meter, start: datetime, end: datetime) -> dict:
    """Energy used, number of readings, and min/max/avg power in [start, end]: the measured power
    of live meters, or for a meter that measures none (half-hourly interval meters) the average
    power of each interval, worked out from its register."""
    start, end = utc_in_meter_zone(start, meter, "start"), utc_in_meter_zone(end, meter, "end")
    if end <= start:
        raise ApplicationError("end: must be after start.", field="end")
    figures = meter.readings.filter(at__gte=start, at__lte=end).aggregate(
        count=Count("id"),
        min_power_w=Min("power_w"),
        max_power_w=Max("power_w"),
        avg=Avg("power_w"),
    )
    energy = None
    if figures["count"] >= 2:
        energy = _energy(meter, _edges(meter, start, end))
        if figures["min_power_w"] is None:
            figures.update(_interval_power(meter, start, end))
    return {
        "meter_id": meter.meter_id,
        "start": start,
        "end": end,
        "readings": figures["count"],
        "energy_kwh": energy,
        "min_power_w": figures["min_power_w"],
        "max_power_w": figures["max_power_w"],
        "avg_power_w": figures["avg"],
    }


def _interval_power(meter: Meter, start: datetime, end: datetime) -> dict:
    """Min, max and average power (W) of the intervals between consecutive readings in
    [start, end], from the import register; an interval closed by a register reset has none."""
    readings = meter.readings.filter(at__gte=start, at__lte=end).order_by("at")
    watts, energy_kwh, seconds, previous = [], Decimal(0), 0.0, None
    for at, kwh, reset in readings.values_list("at", "import_kwh", "register_reset"):
        if previous is not None and not reset:
            span = (at - previous[0]).total_seconds()
            watts.append(float(kwh - previous[1]) * 3_600_000 / span)
            energy_kwh += kwh - previous[1]
            seconds += span
        previous = (at, kwh)
    if not watts:
        return {}
    return {
        "min_power_w": round(min(watts), 1),
        "max_power_w": round(max(watts), 1),
        "avg": float(energy_kwh) * 3_600_000 / seconds,
    }


def energy_summary(*, meter: Meter, days: int = 30, today: date | None = None) -> dict:
    """Daily kWh for the last ``days`` local days (with is_partial and each day's 30-day moving
    average), the average day over the last year and the current 30-day moving average, from
    the roll-ups. Averages use complete days only; the current ones end yesterday."""
    tz = meter.tz
    today = today or local_day(timezone.now(), tz)
    first_day = today - timedelta(days=days - 1)
    window = list(
        meter.daily_usage.filter(
            day__gte=first_day - timedelta(days=MOVING_AVERAGE_DAYS - 1), day__lte=today
        ).values("day", "import_kwh", "export_kwh", "is_partial")
    )
    complete = {row["day"]: row["import_kwh"] for row in window if not row["is_partial"]}
    daily = []
    for row in window:
        if row["day"] < first_day:
            continue
        earliest = row["day"] - timedelta(days=MOVING_AVERAGE_DAYS - 1)
        values = [kwh for day, kwh in complete.items() if earliest <= day <= row["day"]]
        average = sum(values) / len(values) if values else None
        daily.append({**row, "moving_average_30d_kwh": _rounded(average)})
    averages = meter.daily_usage.filter(
        is_partial=False, day__lt=today, day__gte=today - timedelta(days=365)
    ).aggregate(
        year=Avg("import_kwh"),
        month=Avg("import_kwh", filter=Q(day__gte=today - timedelta(days=MOVING_AVERAGE_DAYS))),
    )
    return {
        "meter_id": meter.meter_id,
        "days": daily,
        "average_daily_kwh_last_year": _rounded(averages["year"]),
        "moving_average_30d_kwh": _rounded(averages["month"]),
    }


MOVING_AVERAGE_DAYS = 30


def _rounded(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(KWH_QUANTUM)


# --- Analysts ----------------------------------------------------------------------------------

ANALYTICS_GROUPS = ("region", "area", "dwelling_type")
# An analyst report covers at most three years of daily roll-ups.
ANALYTICS_MAX_DAYS = 3 * 366


def consumption_aggregates(
    *, start: date, end: date, group_by: str = "region", resolution: str = "month"
) -> list[dict]:
    """Total and per-meter average consumption by region, area or dwelling type per day or month
    over local days [start, end), from the roll-ups. No meter ids, accounts or addresses.

    Every analyst report, API answer and CSV export comes from here, and the suppression holds
    for the report as a whole (see ``suppressed_groups``): a group is shown only if none of its
    days in the window is suppressed, so a period's total is always the sum of shown days and
    no subtraction of rows, periods or windows singles out a household."""
    if group_by not in ANALYTICS_GROUPS:
        raise ApplicationError(
            f"group_by: must be one of {', '.join(ANALYTICS_GROUPS)}.", field="group_by"
        )
    if resolution not in ("day", "month"):
        raise ApplicationError('resolution: must be "day" or "month".', field="resolution")
    if end <= start:
        raise ApplicationError("end: must be after start.", field="end")
    if (end - start).days > ANALYTICS_MAX_DAYS:
        raise ApplicationError("end: a report covers at most three years.", field="end")
    hidden = suppressed_groups(start=start, end=end, group_by=group_by)
    period = TruncMonth("day") if resolution == "month" else F("day")
    rows = (
        DailyUsage.objects.filter(day__gte=start, day__lt=end)
        .exclude(**{f"meter__{group_by}__in": hidden})
        .annotate(group=F(f"meter__{group_by}"), period=period)
        .values("group", "period")
        .annotate(total=Sum("import_kwh"), meters=Count("meter", distinct=True))
        .order_by("period", "group")
    )
    return [
        {
            "group": row["group"],
            "period": row["period"],
            "meters": row["meters"],
            "total_kwh": row["total"],
            "average_kwh_per_meter": (row["total"] / row["meters"]).quantize(Decimal("0.0001")),
        }
        for row in rows
    ]


def suppressed_groups(*, start: date, end: date, group_by: str) -> set[str]:
    """The groups an analyst report over local days [start, end) must leave out.

    Statistical disclosure control with the threshold rule and complementary suppression, both
    per cell (group, local day), the finest cell any report is made of:

    - primary: a cell of 1 to ANALYTICS_MIN_GROUP_SIZE - 1 meters is unsafe (an empty cell
      discloses nothing);
    - complementary: on a day whose unsafe cells hold fewer than the minimum meters in all, the
      smallest safe cells of that day are suppressed too until they hold at least the minimum,
      so "every meter minus the shown groups" (a total read off another grouping) is never
      fewer households than the minimum;
    - a group with a suppressed cell on any day of the window is left out of the whole report,
      so no period total contains a hidden day to recover by subtraction.

    A day's suppressed cells depend on that day's roll-ups only, never on the window, so two
    reports over different windows cannot be subtracted to recover a hidden cell either."""
    minimum = settings.ANALYTICS_MIN_GROUP_SIZE
    cells: dict[date, list[tuple[int, str]]] = {}
    for group, day, meters in (
        DailyUsage.objects.filter(day__gte=start, day__lt=end)
        .values_list(f"meter__{group_by}", "day")
        .annotate(meters=Count("meter"))
        .values_list(f"meter__{group_by}", "day", "meters")
    ):
        cells.setdefault(day, []).append((meters, group))
    hidden: set[str] = set()
    for day_cells in cells.values():
        unsafe = [(meters, group) for meters, group in day_cells if meters < minimum]
        if not unsafe:
            continue
        held = sum(meters for meters, _ in unsafe)
        hidden.update(group for _, group in unsafe)
        for meters, group in sorted(cell for cell in day_cells if cell[0] >= minimum):
            if held >= minimum:
                break
            hidden.add(group)
            held += meters
    return hidden


READING_EXPORT_FIELDS = (
    "at",
    "import_kwh",
    "export_kwh",
    "power_w",
    "source",
    "quality",
    "register_reset",
    "export_register_reset",
)


def readings_for_export(*, meter: Meter, start: datetime, end: datetime):
    """Readings in [start, end) for a CSV export, streamed."""
    start, end = utc_in_meter_zone(start, meter, "start"), utc_in_meter_zone(end, meter, "end")
    if end <= start:
        raise ApplicationError("end: must be after start.", field="end")
    return (
        meter.readings.filter(at__gte=start, at__lt=end)
        .order_by("at")
        .values_list(*READING_EXPORT_FIELDS)
        .iterator(chunk_size=5000)
    )


# --- Status -----------------------------------------------------------------------------------


def reception_state() -> Reception:
    return Reception.objects.filter(pk=Reception.SINGLETON_PK).first() or Reception()


def meters_status() -> dict:
    state = reception_state()
    last = Reading.objects.order_by("-at").values_list("at", flat=True).first()
    return {
        "meters": Meter.objects.count(),
        "readings": _estimated_readings(),
        "last_reading_at": last.isoformat() if last else None,
        "reception": str(state),
    }


def _estimated_readings() -> int:
    """An exact count of tens of millions of rows takes seconds on PostgreSQL; the planner's
    estimate is instant and close enough for a status page (exact below 100,000)."""
    if settings.DATABASE_IS_POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                [Reading._meta.db_table],
            )
            row = cursor.fetchone()
        if row and row[0] >= 100_000:
            return row[0]
    return Reading.objects.count()


# --- Reads for the portal app (portal/): its pages query no meters table themselves ------------
# Imported here, not at the top, so this appended block leaves the module's import lines to the
# work splitting this module (issue #15); hoist them when merging.
from .models import Archive, MeterStatus, ReceptionChange  # noqa: E402


def meter_local_day(*, meter: Meter, at: datetime) -> date:
    """The day ``at`` falls on in the meter's own time zone."""
    return local_day(at, meter.tz)


def meter_local_midnight(*, meter: Meter, day: date) -> datetime:
    """The start of ``day`` in the meter's own time zone."""
    return local_midnight(day, meter.tz)


def meter_first_reading_at(*, meter: Meter) -> datetime | None:
    return meter.readings.order_by("at").values_list("at", flat=True).first()


def meter_totals_kwh(*, start: date, end: date) -> list[float]:
    """Each meter's total import over local days [start, end) from the daily roll-ups, smallest
    first, with no meter named: the analysts' distribution chart bins these."""
    return sorted(
        float(total)
        for total in DailyUsage.objects.filter(day__gte=start, day__lt=end)
        .values("meter")
        .annotate(total=Sum("import_kwh"))
        .values_list("total", flat=True)
    )


def live_meters_quiet(*, since: datetime, examples: int = 10) -> dict:
    """Active live meters, and those not heard from since ``since`` (the quietest first)."""
    live = Meter.objects.filter(kind=MeterKind.LIVE, status=MeterStatus.ACTIVE)
    quiet = live.exclude(last_seen__gte=since).order_by("last_seen")
    return {
        "live_meters": live.count(),
        "offline": quiet.count(),
        "examples": list(quiet.values("meter_id", "last_seen")[:examples]),
    }


def reception_history(*, limit: int = 5) -> QuerySet[ReceptionChange]:
    """The latest pause/resume and maintenance switches, newest first, with who made them."""
    return ReceptionChange.objects.select_related("changed_by")[:limit]


def archive_latest() -> Archive | None:
    return Archive.objects.order_by("-created_at").first()
