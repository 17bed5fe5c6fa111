"""What a charger reports about itself: boot details, heartbeats, connector status, diagnostics
and firmware progress."""

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts import live

from ..models import (
    Charger,
    Connector,
    StatusNotification,
)
from .common import _commit_without_waiting_for_disk, parse_ocpp_time

VENDOR_STRING_MAX = 255


@transaction.atomic
def boot_notification_record(*, charger: Charger, payload: dict) -> Charger:
    """Store what the charger says about itself; vendor strings longer than the spec allows are
    kept (cut to what the column holds) rather than refused."""
    fields = {
        "vendor": "charge_point_vendor",
        "model": "charge_point_model",
        "serial_number": "charge_point_serial_number",
        "box_serial_number": "charge_box_serial_number",
        "firmware_version": "firmware_version",
        "iccid": "iccid",
        "imsi": "imsi",
        "meter_type": "meter_type",
        "meter_serial_number": "meter_serial_number",
    }
    _commit_without_waiting_for_disk()
    # Staff may have accepted or rejected it since the socket opened.
    charger.refresh_from_db(fields=["registration", "account"])
    for column, key in fields.items():
        setattr(charger, column, str(payload.get(key) or "")[:VENDOR_STRING_MAX])
    now = timezone.now()
    charger.heartbeat_interval = settings.CHARGING_HEARTBEAT_INTERVAL
    if charger.is_accepted:
        charger.booted_at = now
    charger.last_message_at = now
    # Only these columns: the connection columns belong to the consumer that owns the socket.
    charger.save(update_fields=[*fields, "heartbeat_interval", "booted_at", "last_message_at"])
    return charger


def heartbeat_record(*, charger_id: int, channel_name: str = "") -> None:
    """A heartbeat; it also brings back a charger the offline check gave up on while its socket
    (``channel_name``) stayed open - unless another socket has taken the charger over since."""
    now = timezone.now()
    fields = {"last_heartbeat_at": now, "last_message_at": now}
    if channel_name:
        given_up = Q(connected=False, channel_name="")
        fields |= {
            "connected": Case(When(given_up, then=Value(True)), default=F("connected")),
            "channel_name": Case(
                When(given_up, then=Value(channel_name)), default=F("channel_name")
            ),
            "connected_at": Case(When(given_up, then=Value(now)), default=F("connected_at")),
        }
    Charger.objects.filter(pk=charger_id).update(**fields)


@transaction.atomic
def status_notification_record(
    *,
    charger: Charger,
    connector_id: int,
    status: str,
    error_code: str,
    timestamp: str | None = None,
    info: str | None = None,
    vendor_id: str | None = None,
    vendor_error_code: str | None = None,
) -> StatusNotification:
    at = parse_ocpp_time(timestamp) or timezone.now()
    entry = StatusNotification.objects.create(
        charger=charger,
        connector_id=connector_id,
        status=status,
        error_code=error_code,
        info=info or "",
        vendor_id=vendor_id or "",
        vendor_error_code=vendor_error_code or "",
        timestamp=at,
    )
    connector, _ = Connector.objects.select_for_update().get_or_create(
        charger=charger, connector_id=connector_id
    )
    if connector.status_at is None or connector.status_at <= at:
        connector.status = status
        connector.error_code = error_code
        connector.info = info or ""
        connector.vendor_error_code = vendor_error_code or ""
        connector.status_at = at
        connector.save()
    live.push_on_commit(
        account_id=charger.account_id,
        kind="charging.status",
        data={"charger": charger.charge_point_id, "connector_id": connector_id, "status": status},
    )
    return entry


def diagnostics_status_record(*, charger_id: int, status: str) -> None:
    Charger.objects.filter(pk=charger_id).update(diagnostics_status=status)


def firmware_status_record(*, charger_id: int, status: str) -> None:
    Charger.objects.filter(pk=charger_id).update(firmware_status=status)
