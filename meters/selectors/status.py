"""Reception state, the status page and the portal's reads of meter days, totals and archives."""

from datetime import date, datetime

from django.conf import settings
from django.db import connection
from django.db.models import (
    QuerySet,
    Sum,
)

from ..models import (
    Archive,
    DailyUsage,
    Meter,
    MeterKind,
    MeterStatus,
    Reading,
    Reception,
    ReceptionChange,
)
from ..timeutils import (
    local_day,
    local_midnight,
)


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
