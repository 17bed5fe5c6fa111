"""What the staff operations page shows: every app's /status section (config.status.collect),
plus the things an operator acts on — reception, live devices that went quiet, beat jobs, the
last archive."""

from datetime import timedelta

from django.apps import apps
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_celery_beat.models import PeriodicTask

from config import status
from meters import selectors as meter_selectors
from meters.models import Archive, Meter, MeterKind, MeterStatus, ReceptionChange

# A live device that has sent nothing for this long is shown as offline.
DEVICE_OFFLINE_AFTER = timedelta(minutes=15)


def overview() -> dict:
    collected = status.collect()
    sections = collected["sections"]
    ingest = ingest_state()
    return {
        "now": timezone.now(),
        "beat_last_heartbeat": collected["beat_last_heartbeat"],
        "telemetry": sections.get("telemetry"),
        "ingest": ingest,
        "ingest_processes": ingest_processes(ingest),
        "reception": meter_selectors.reception_state(),
        "reception_history": ReceptionChange.objects.select_related("changed_by")[:5],
        "devices_offline": devices_offline(),
        "chargers": sections.get("charging"),
        "batteries": sections.get("batteries"),
        "billing": sections.get("billing"),
        "beat_jobs": beat_jobs(),
        "last_archive": Archive.objects.order_by("-created_at").first(),
        "sections": sections,
    }


def devices_offline() -> dict:
    """Active live meters that have not been heard from within DEVICE_OFFLINE_AFTER."""
    cutoff = timezone.now() - DEVICE_OFFLINE_AFTER
    live = Meter.objects.filter(kind=MeterKind.LIVE, status=MeterStatus.ACTIVE)
    quiet = live.exclude(last_seen__gte=cutoff).order_by("last_seen")
    return {
        "live_meters": live.count(),
        "offline": quiet.count(),
        "examples": list(quiet.values("meter_id", "last_seen")[:10]),
        "after_minutes": int(DEVICE_OFFLINE_AFTER.total_seconds() // 60),
    }


def beat_jobs() -> list[dict]:
    """The scheduled jobs with their last and next run (django-celery-beat's own bookkeeping)."""
    jobs = []
    for task in PeriodicTask.objects.select_related("interval", "crontab").order_by("name"):
        schedule = task.schedule
        next_run = None
        if task.enabled:
            try:
                due_in = schedule.remaining_estimate(task.last_run_at or task.date_changed)
            except (AttributeError, TypeError, ValueError):
                due_in = None
            if due_in is not None:
                next_run = timezone.now() + max(due_in, timedelta(0))
        jobs.append(
            {
                "name": task.name,
                "task": task.task,
                "enabled": task.enabled,
                "schedule": str(task.interval or task.crontab or task.clocked or task.solar or ""),
                "last_run_at": task.last_run_at,
                "next_run_at": next_run,
                "total_run_count": task.total_run_count,
            }
        )
    return jobs


def ingest_state() -> dict | None:
    """The MQTT ingest's supervision verdict (healthy/degraded/down, reasons, processes), or None
    without the telemetry app."""
    if not apps.is_installed("meters.telemetry"):
        return None
    from meters.telemetry import supervision

    return supervision.ingest_state()


def _seconds_since(value: str | None, now) -> float | None:
    when = parse_datetime(value) if value else None
    return None if when is None else round((now - when).total_seconds(), 1)


def ingest_processes(ingest: dict | None) -> list[dict]:
    """Each MQTT ingest process from its heartbeat: connected, message rates over the last
    minute, the age of its last message (lag) and of its heartbeat."""
    if not ingest:
        return []
    now = timezone.now()
    rows = []
    for beat in ingest["processes"]:
        minute = beat.get("last_minute") or {}
        rows.append(
            {
                "client_id": beat.get("client_id"),
                "host": beat.get("host"),
                "connected": bool(beat.get("connected")),
                "paused": bool(beat.get("paused")),
                "received_per_minute": minute.get("received", 0),
                "rejected_per_minute": minute.get("rejected", 0),
                "last_message_at": beat.get("last_message_at"),
                "lag_seconds": _seconds_since(beat.get("last_message_at"), now),
                "heartbeat_age_seconds": _seconds_since(beat.get("written_at"), now),
                "queued": beat.get("queued"),
            }
        )
    return rows
