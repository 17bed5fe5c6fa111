"""Reads of the telemetry app."""

from datetime import datetime

from django.db.models import Count, Q

from . import supervision
from .models import Alert, DeadLetter, Device


def ingest_state(*, now: datetime | None = None) -> dict:
    """The ingest's supervision verdict: healthy, degraded or down, with reasons and processes
    (``supervision.ingest_state`` judges it)."""
    return supervision.ingest_state(now)


def status_section() -> dict:
    """The /status section: the supervision verdict (as judged now), processes, devices, alerts."""
    state = supervision.ingest_state()
    devices = Device.objects.aggregate(
        total=Count("pk"),
        unassigned=Count("pk", filter=Q(meter__isnull=True)),
        reporting_online=Count("pk", filter=Q(online=True)),
        reporting_offline=Count("pk", filter=Q(online=False)),
    )
    return {
        "status": state["status"],
        "reasons": state["reasons"],
        "processes": state["processes"],
        "devices": devices,
        "devices_silent": state["devices_silent"],
        "devices_offline": state["devices_offline"],
        "dead_letters": DeadLetter.objects.count(),
        # By code (empty_device, too_deep, crashed_before, ...): what kind of input is failing.
        "dead_letters_by_code": dict(
            DeadLetter.objects.values_list("code").annotate(n=Count("pk")).order_by("code")
        ),
        "open_alerts": [
            {"kind": a.kind, "message": a.message, "opened_at": a.opened_at.isoformat()}
            for a in Alert.objects.filter(resolved_at__isnull=True)[:20]
        ],
        "last_supervision": (supervision.state_last() or {}).get("checked_at"),
    }
