"""What the staff operations page shows: every app's /status section (config.status.collect),
plus the things an operator acts on — reception, live devices that went quiet, beat jobs, the
last archive."""

from datetime import timedelta

from celery.schedules import crontab
from celery.schedules import schedule as celery_schedule
from django.apps import apps
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_celery_beat.models import PeriodicTask

from config import status
from meters import selectors as meter_selectors

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
        "reception_history": meter_selectors.reception_history(limit=5),
        "devices_offline": devices_offline(),
        "chargers": facts(sections.get("charging")),
        "batteries": facts(sections.get("batteries")),
        "battery_alerts": open_battery_alerts(),
        "billing": sections.get("billing"),
        "beat_jobs": beat_jobs(),
        "last_archive": meter_selectors.archive_latest(),
        "sections": sections,
    }


def devices_offline() -> dict:
    """Active live meters that have not been heard from within DEVICE_OFFLINE_AFTER."""
    quiet = meter_selectors.live_meters_quiet(since=timezone.now() - DEVICE_OFFLINE_AFTER)
    return {**quiet, "after_minutes": int(DEVICE_OFFLINE_AFTER.total_seconds() // 60)}


def beat_jobs() -> list[dict]:
    """Every scheduled job: those in settings.CELERY_BEAT_SCHEDULE and any added in the admin,
    with django-celery-beat's bookkeeping (last run, runs) and the next run worked out from the
    schedule, and how each task's latest run ended (recorded by the workers, config.celery)."""
    stored = {
        task.name: task
        for task in PeriodicTask.objects.select_related("interval", "crontab", "clocked", "solar")
    }
    now = timezone.now()
    jobs = []
    configured = getattr(settings, "CELERY_BEAT_SCHEDULE", {})
    for name in sorted(set(configured) | set(stored)):
        task = stored.get(name)
        if task is not None:
            schedule, enabled, last_run = task.schedule, task.enabled, task.last_run_at
        else:
            entry = configured[name]
            schedule, enabled, last_run = _as_schedule(entry["schedule"]), True, None
        next_run = None
        if enabled and last_run is not None:
            try:
                next_run = now + max(schedule.remaining_estimate(last_run), timedelta(0))
            except (AttributeError, TypeError, ValueError):
                next_run = None
        jobs.append(
            {
                "name": name,
                "task": task.task if task else configured[name]["task"],
                "enabled": enabled,
                "schedule": _describe(schedule),
                "last_run_at": last_run,
                "next_run_at": next_run,
                "total_run_count": task.total_run_count if task else 0,
                "stored": task is not None,
            }
        )
    outcomes = status.task_outcomes([job["task"] for job in jobs])
    for job in jobs:
        job["outcome"] = outcomes.get(job["task"])
    return jobs


def _as_schedule(value):
    if isinstance(value, int | float):
        return celery_schedule(timedelta(seconds=value))
    if isinstance(value, timedelta):
        return celery_schedule(value)
    return value


def _describe(schedule) -> str:
    if isinstance(schedule, celery_schedule) and not isinstance(schedule, crontab):
        seconds = int(schedule.run_every.total_seconds())
        return f"every {seconds} s" if seconds < 120 else f"every {seconds // 60} min"
    # "<crontab: 30 0 * * * (m/h/dM/MY/d)>" -> "cron 30 0 * * *"
    text = str(schedule)
    if text.startswith("<crontab: "):
        return "cron " + text.removeprefix("<crontab: ").split(" (")[0]
    return text


def open_battery_alerts() -> list[dict] | None:
    """Unresolved battery alerts across the fleet, newest first."""
    if not apps.is_installed("batteries"):
        return None
    from batteries import selectors as battery_selectors

    alerts = battery_selectors.battery_alerts_open(limit=20)
    return [
        {
            "battery": alert.battery.identifier,
            "severity": alert.severity,
            "status": alert.get_status_display(),
            "message": alert.message,
            "opened_at": alert.opened_at,
        }
        for alert in alerts
    ]


def facts(section: dict | None) -> list[tuple[str, str]]:
    """A status section as label/value pairs a person reads: nested figures joined, nothing
    shown as a bare None or {}."""
    if not section:
        return []
    rows = []
    for key, value in section.items():
        if isinstance(value, dict):
            text = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "none"
        elif value is None:
            text = "none"
        else:
            text = str(value)
        rows.append((key.replace("_", " ").capitalize(), text))
    return rows


def ingest_state() -> dict | None:
    """The MQTT ingest's supervision verdict (healthy/degraded/down, reasons, processes), or None
    without the telemetry app."""
    if not apps.is_installed("meters.telemetry"):
        return None
    from meters.telemetry import selectors as telemetry_selectors

    return telemetry_selectors.ingest_state()


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
        age = _seconds_since(beat.get("written_at"), now)
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
                "heartbeat_age_seconds": age,
                # What a silent process last said about its connection is history, not state.
                "alive": age is not None and age <= settings.TELEMETRY_DOWN_AFTER_SECONDS,
                "queued": beat.get("queued"),
            }
        )
    return rows
