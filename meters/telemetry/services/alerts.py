"""Supervision: the ingest's and the devices' alerts, opened and resolved with a mail to staff."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .. import supervision
from ..models import Alert, AlertKind, Device
from .messages import received_messages_prune

log = logging.getLogger("meters.telemetry.services")


def _alert_recipients() -> list[str]:
    if settings.TELEMETRY_ALERT_EMAILS:
        return list(settings.TELEMETRY_ALERT_EMAILS)
    staff = get_user_model().objects.filter(is_active=True, role="staff").exclude(email="")
    return list(staff.values_list("email", flat=True))


def _mail(subject: str, body: str) -> None:
    recipients = _alert_recipients()
    if recipients:
        transaction.on_commit(
            lambda: send_mail(subject, body, None, recipients, fail_silently=True)
        )


@transaction.atomic
def alert_raise(*, kind: str, message: str, device: Device | None = None) -> Alert | None:
    """Open an alert unless one of that kind (and device) is already open; mails staff on open.
    Returns the new alert, or None when it was already open."""
    if Alert.objects.filter(kind=kind, device=device, resolved_at__isnull=True).exists():
        return None
    alert = Alert.objects.create(
        kind=kind, device=device, message=message, opened_at=timezone.now()
    )
    log.warning("telemetry alert: %s", alert)
    _mail(f"[HomeGrid] {alert.get_kind_display()}", message)
    return alert


@transaction.atomic
def alert_resolve(*, kind: str, device: Device | None = None) -> Alert | None:
    """Close the open alert of that kind (and device), if any; mails staff that it cleared."""
    alert = Alert.objects.filter(kind=kind, device=device, resolved_at__isnull=True).first()
    if alert is None:
        return None
    alert.resolved_at = timezone.now()
    alert.save(update_fields=["resolved_at"])
    log.info("telemetry alert resolved: %s", alert)
    _mail(f"[HomeGrid] Resolved: {alert.get_kind_display()}", alert.message)
    return alert


def supervision_run() -> dict:
    """Judge the ingest and the devices (see ``supervision.ingest_state``), open alerts for what
    is wrong and resolve those that cleared. Returns the state, also kept for /status."""
    state = supervision.ingest_state()
    if state["status"] == supervision.DOWN:
        alert_raise(kind=AlertKind.INGEST_DOWN, message="; ".join(state["reasons"]))
    else:
        alert_resolve(kind=AlertKind.INGEST_DOWN)
    ingest_problems = [r for r in state["reasons"] if r.startswith("ingest ")]
    if state["status"] != supervision.DOWN and ingest_problems:
        alert_raise(kind=AlertKind.INGEST_DEGRADED, message="; ".join(ingest_problems))
    else:
        alert_resolve(kind=AlertKind.INGEST_DEGRADED)
    for kind, topics in (
        (AlertKind.DEVICE_SILENT, set(state["devices_silent"])),
        (AlertKind.DEVICE_OFFLINE, set(state["devices_offline"])),
    ):
        for device in Device.objects.filter(topic__in=topics):
            what = "stopped reporting" if kind == AlertKind.DEVICE_SILENT else "is offline (LWT)"
            alert_raise(
                kind=kind,
                device=device,
                message=f"Device {device} (meter {device.meter}) {what}.",
            )
        for alert in Alert.objects.filter(kind=kind, resolved_at__isnull=True).exclude(
            device__topic__in=topics
        ):
            alert_resolve(kind=kind, device=alert.device)
    received_messages_prune()
    supervision.state_remember(state)
    return state
