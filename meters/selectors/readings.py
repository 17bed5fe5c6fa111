"""Raw and sampled readings, statistics, summaries, analysts' aggregates and exports."""

from datetime import date, datetime, timedelta
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

from config.exceptions import ApplicationError, NotFound

from ..models import DailyUsage, Meter, Reading
from ..timeutils import (
    local_day,
)
from .consumption import KWH_QUANTUM, _edges, _energy, utc_in_meter_zone


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
    # Built from the rows by hand: Django 5.2's raw() needs a single-column primary key.
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, end, step, meter.pk, step, end])
        names = [column.name for column in cursor.description]
        points = [Reading(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
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
        count=Count("at"),
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
