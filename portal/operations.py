"""What the staff operations page shows: every app's /status section (config.status.collect),
plus the things an operator acts on — reception, live devices that went quiet, beat jobs, the
last archive."""

from datetime import datetime, timedelta

from celery.schedules import crontab
from celery.schedules import schedule as celery_schedule
from django.apps import apps
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
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
        "time_zone": settings.TIME_ZONE,
        "beat_last_heartbeat": when(collected["beat_last_heartbeat"]),
        "telemetry": _telemetry(sections.get("telemetry")),
        "ingest": ingest,
        "ingest_processes": ingest_processes(ingest),
        "reception": meter_selectors.reception_state(),
        "reception_history": meter_selectors.reception_history(limit=5),
        "devices_offline": devices_offline(),
        "chargers": facts(sections.get("charging")),
        "batteries": facts(sections.get("batteries")),
        "battery_alerts": open_battery_alerts(),
        "billing": _with_times(sections.get("billing"), "last_run", ("started_at", "finished_at")),
        "beat_jobs": beat_jobs(),
        "last_archive": meter_selectors.archive_latest(),
        "sections": sections,
    }


def _with_times(section: dict | None, key: str, fields: tuple[str, ...]) -> dict | None:
    """``section`` with the ISO times of ``section[key]`` as datetimes, for the template."""
    if not section or not isinstance(section.get(key), dict):
        return section
    return {**section, key: {**section[key], **{f: when(section[key].get(f)) for f in fields}}}


def _telemetry(section: dict | None) -> dict | None:
    if not section or "open_alerts" not in section:
        return section
    alerts = [{**alert, "opened_at": when(alert["opened_at"])} for alert in section["open_alerts"]]
    return {**section, "open_alerts": alerts}


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
        outcome = outcomes.get(job["task"])
        job["outcome"] = outcome and {**outcome, "at": when(outcome.get("at"))}
    return jobs


def _as_schedule(value):
    if isinstance(value, int | float):
        return celery_schedule(timedelta(seconds=value))
    if isinstance(value, timedelta):
        return celery_schedule(value)
    return value


def _describe(schedule) -> str:
    if isinstance(schedule, crontab):
        return describe_cron(
            schedule._orig_minute,
            schedule._orig_hour,
            schedule._orig_day_of_month,
            schedule._orig_month_of_year,
            schedule._orig_day_of_week,
        )
    if isinstance(schedule, celery_schedule):
        seconds = int(schedule.run_every.total_seconds())
        return f"every {seconds} s" if seconds < 120 else f"every {seconds // 60} min"
    return str(schedule)


WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_cron(minute, hour, day_of_month, month_of_year, day_of_week) -> str:
    """A crontab in words, in beat's time zone (CELERY_TIMEZONE): "02:00 on the 1st of each
    month", "daily at 00:30", "03:17 every Monday"; anything rarer as its five fields."""
    fields = [str(f) for f in (minute, hour, day_of_month, month_of_year, day_of_week)]
    m, h, dom, moy, dow = fields
    zone = f" ({settings.CELERY_TIMEZONE})"
    if m.isdigit() and h == "*" and dom == moy == dow == "*":
        return f"hourly at :{int(m):02d}"
    if not (m.isdigit() and h.isdigit()) or moy != "*":
        return "cron " + " ".join(fields) + zone
    at = f"{int(h):02d}:{int(m):02d}"
    if dom == "*" and dow == "*":
        return f"daily at {at}{zone}"
    if dom.isdigit() and dow == "*":
        return f"{at} on the {_ordinal(int(dom))} of each month{zone}"
    if dom == "*" and dow.isdigit() and int(dow) < 7:
        return f"{at} every {WEEKDAYS[int(dow)]}{zone}"
    return "cron " + " ".join(fields) + zone


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


def when(value) -> datetime | None:
    """A status section's time (an ISO string or a datetime) as an aware datetime, or None."""
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) else None


def readable(value) -> str:
    """One status value as a person reads it: times in local time to the second, seconds as
    durations, nested figures joined, nothing shown as a bare None or {}."""
    if value is None or value == {} or value == []:
        return "none"
    if isinstance(value, dict):
        if "at" in value:  # a pass: when it ran and how long it took
            took = f", took {value['seconds']:.2f} s" if "seconds" in value else ""
            return f"{readable(value['at'])}{took}"
        return ", ".join(f"{k.replace('_', ' ')}: {readable(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(readable(v) for v in value)
    moment = when(value) if isinstance(value, str | datetime) else None
    if moment is not None:
        return date_format(timezone.localtime(moment), "j M Y H:i:s")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def facts(section: dict | None) -> list[tuple[str, str]]:
    """A status section as label/value pairs a person reads."""
    if not section:
        return []
    return [(key.replace("_", " ").capitalize(), readable(value)) for key, value in section.items()]


def ingest_state() -> dict | None:
    """The MQTT ingest's supervision verdict (healthy/degraded/down, reasons, processes), or None
    without the telemetry app."""
    if not apps.is_installed("meters.telemetry"):
        return None
    from meters.telemetry import selectors as telemetry_selectors

    return telemetry_selectors.ingest_state()


def _seconds_since(value: str | None, now) -> float | None:
    moment = when(value)
    return None if moment is None else round((now - moment).total_seconds(), 1)


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
                "last_message_at": when(beat.get("last_message_at")),
                "lag_seconds": _seconds_since(beat.get("last_message_at"), now),
                "heartbeat_age_seconds": age,
                # What a silent process last said about its connection is history, not state.
                "alive": age is not None and age <= settings.TELEMETRY_DOWN_AFTER_SECONDS,
                "queued": beat.get("queued"),
            }
        )
    return rows
