"""A meter's readings as stored (raw, sampled, latest, for export), their statistics and the
daily summary from the roll-ups."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Avg,
    Count,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from config.exceptions import ApplicationError, NotFound
from meters.models import Meter, Reading
from meters.timeutils import (
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
