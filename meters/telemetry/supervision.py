"""Ingest heartbeats and the supervision verdict built from them.

Each ingest process writes its heartbeat to the cache (Redis, or the file cache in the demo) every
``TELEMETRY_HEARTBEAT_SECONDS``, under its client id, and keeps its id in a registry so readers
find every process. ``ingest_state`` turns heartbeats and device silence into healthy / degraded /
down; the beat task ``supervise`` raises and resolves alerts from it; /status and /healthz show it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Device

REGISTRY_KEY = "telemetry:ingest:processes"
HEARTBEAT_KEY = "telemetry:ingest:heartbeat:{client_id}"
STATE_KEY = "telemetry:ingest:state"
# A process that has not written for this long is forgotten (scaled down, renamed).
FORGET_AFTER = timedelta(days=1)

HEALTHY = "healthy"
DEGRADED = "degraded"
DOWN = "down"


def heartbeat_write(*, client_id: str, beat: dict) -> None:
    """Store one process's heartbeat (``beat`` gets ``written_at``)."""
    beat = beat | {"client_id": client_id, "written_at": timezone.now().isoformat()}
    timeout = int(FORGET_AFTER.total_seconds())
    cache.set(HEARTBEAT_KEY.format(client_id=client_id), beat, timeout=timeout)
    registry = cache.get(REGISTRY_KEY) or []
    if client_id not in registry:
        cache.set(REGISTRY_KEY, sorted({*registry, client_id}), timeout=None)


def heartbeats() -> list[dict]:
    """The latest heartbeat of every ingest process seen in the last day."""
    registry = cache.get(REGISTRY_KEY) or []
    keys = {HEARTBEAT_KEY.format(client_id=client_id): client_id for client_id in registry}
    found = cache.get_many(list(keys))
    forgotten = [client_id for key, client_id in keys.items() if key not in found]
    if forgotten:
        cache.set(REGISTRY_KEY, sorted(set(registry) - set(forgotten)), timeout=None)
    return [found[key] for key in sorted(found)]


def _age_seconds(beat: dict, now: datetime) -> float:
    written = parse_datetime(beat.get("written_at") or "")
    return (now - written).total_seconds() if written else float("inf")


def devices_silent(now: datetime | None = None):
    """Attached devices without a SENSOR message for SILENT_AFTER_PERIODS x their TelePeriod."""
    now = now or timezone.now()
    periods = settings.TELEMETRY_SILENT_AFTER_PERIODS
    # Compare in seconds so each device's own TelePeriod applies (portable across databases).
    candidates = Device.objects.filter(meter__isnull=False).filter(
        Q(last_sensor_at__isnull=True) | Q(last_sensor_at__lt=now - timedelta(seconds=10 * periods))
    )
    silent = []
    for device in candidates.select_related("meter").order_by("topic"):
        since = device.last_sensor_at or device.created_at
        if (now - since).total_seconds() > periods * device.tele_period_seconds:
            silent.append(device)
    return silent


def devices_offline():
    return list(
        Device.objects.filter(online=False, meter__isnull=False)
        .select_related("meter")
        .order_by(F("online_changed_at").desc(nulls_last=True))
    )


def ingest_state(now: datetime | None = None) -> dict:
    """healthy: every known ingest process wrote a heartbeat recently, is connected and rejects
    few messages, and no attached device is silent or offline. down: no process is alive (or none
    ever reported). degraded: anything in between. ``reasons`` says what.

    A process stopped on purpose (SIGTERM: scaled down, deployed anew) says so in its last
    heartbeat; it is not missed while others run, and the verdict names it when none does."""
    now = now or timezone.now()
    down_after = settings.TELEMETRY_DOWN_AFTER_SECONDS
    beats = heartbeats()
    alive = [b for b in beats if not b.get("stopped") and _age_seconds(b, now) <= down_after]
    reasons = []
    if not beats:
        reasons.append("no ingest process has reported")
    elif not alive and all(b.get("stopped") for b in beats):
        reasons.append(f"ingest stopped ({', '.join(b['client_id'] for b in beats)})")
    elif not alive:
        reasons.append(
            f"no ingest heartbeat for more than {down_after} s "
            f"({', '.join(b['client_id'] for b in beats)})"
        )
    connected = [b for b in alive if b.get("connected")]
    status = DOWN if not connected else HEALTHY
    if alive and not connected:
        reasons.append("ingest is running but not connected to the broker")
    for beat in beats:
        if beat not in alive and alive and not beat.get("stopped"):
            reasons.append(f"ingest {beat['client_id']} stopped reporting")
        elif beat in alive and not beat.get("connected") and connected:
            reasons.append(f"ingest {beat['client_id']} is not connected to the broker")
        minute = beat.get("last_minute") or {}
        received = minute.get("received", 0)
        if (
            beat in alive
            and received
            and minute.get("rejected", 0) / received > (settings.TELEMETRY_DEGRADED_REJECT_RATIO)
        ):
            reasons.append(
                f"ingest {beat['client_id']} rejected {minute['rejected']} of {received} "
                "messages in the last minute"
            )
        if beat in alive and beat.get("paused"):
            reasons.append(f"ingest {beat['client_id']} is holding messages: reception is paused")
    silent = devices_silent(now)
    offline = devices_offline()
    if silent:
        reasons.append(f"{len(silent)} device(s) stopped reporting")
    if offline:
        reasons.append(f"{len(offline)} device(s) offline (LWT)")
    if status == HEALTHY and reasons:
        status = DEGRADED
    return {
        "status": status,
        "reasons": reasons,
        "checked_at": now.isoformat(),
        "processes": beats,
        "devices_silent": [d.topic for d in silent],
        "devices_offline": [d.topic for d in offline],
    }


def state_remember(state: dict) -> None:
    cache.set(STATE_KEY, state, timeout=None)


def state_last() -> dict | None:
    return cache.get(STATE_KEY)
