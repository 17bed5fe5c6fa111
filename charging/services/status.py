"""What a charger reports about itself: boot details, heartbeats, connector status, diagnostics
and firmware progress.

After a reconnect storm every charger boots again, and the storm is over only when the whole
fleet is Boot Accepted; under load, heartbeats are the most frequent frame. Profiled
(bench/README.md), the ORM boot took five round trips (BEGIN, SET LOCAL, SELECT for the
registration staff may have changed, UPDATE, COMMIT) and each heartbeat a durable commit on its
answer's path. So on PostgreSQL:

- a boot is one ``UPDATE ... RETURNING`` in autocommit that reads the current registration in the
  row it updates (a decision staff made since the socket opened counts, as the refresh did) and
  commits without waiting for the disk (``set_config`` local to the statement's transaction);
- heartbeats only say "alive at t": ``frame_log.FrameLog.heartbeat`` queues them and
  ``heartbeats_record`` writes each batch in one statement, without waiting for the disk. A
  process that dies loses at most the batch window, as the frame log does; the next heartbeat
  writes it again.

Other databases take the ORM versions.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts import live

from ..models import Charger, Connector, Registration, StatusNotification
from .announcements import charger_fault_announce
from .common import _commit_without_waiting_for_disk, parse_ocpp_time

VENDOR_STRING_MAX = 255


# Column -> BootNotification key (snake_case, as the ocpp library hands the payload over).
BOOT_FIELDS = {
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

_BOOT = """
UPDATE {table}
   SET {columns}, heartbeat_interval = %(interval)s, last_message_at = %(now)s,
       booted_at = CASE WHEN registration = %(accepted)s THEN %(now)s ELSE booted_at END
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_disk_wait
 WHERE id = %(id)s
RETURNING registration, account_id, booted_at
"""


def boot_notification_record(*, charger: Charger, payload: dict) -> Charger:
    """Store what the charger says about itself; vendor strings longer than the spec allows are
    kept (cut to what the column holds) rather than refused. One round trip on PostgreSQL."""
    if connection.vendor != "postgresql":
        return _boot_notification_record_orm(charger=charger, payload=payload)
    values = {
        column: str(payload.get(key) or "")[:VENDOR_STRING_MAX]
        for column, key in BOOT_FIELDS.items()
    }
    now = timezone.now()
    sql = _BOOT.format(
        table=connection.ops.quote_name(Charger._meta.db_table),
        columns=", ".join(f"{connection.ops.quote_name(c)} = %({c})s" for c in BOOT_FIELDS),
    )
    params = values | {
        "interval": settings.CHARGING_HEARTBEAT_INTERVAL,
        "now": now,
        "accepted": Registration.ACCEPTED,
        "id": charger.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:  # the charger was deleted while connected
        raise Charger.DoesNotExist(f"charger {charger.pk} is gone")
    charger.registration, charger.account_id, charger.booted_at = row
    for column, value in values.items():
        setattr(charger, column, value)
    charger.heartbeat_interval = settings.CHARGING_HEARTBEAT_INTERVAL
    charger.last_message_at = now
    return charger


@transaction.atomic
def _boot_notification_record_orm(*, charger: Charger, payload: dict) -> Charger:
    """Store what the charger says about itself; vendor strings longer than the spec allows are
    kept (cut to what the column holds) rather than refused."""
    _commit_without_waiting_for_disk()
    # Staff may have accepted or rejected it since the socket opened.
    charger.refresh_from_db(fields=["registration", "account"])
    for column, key in BOOT_FIELDS.items():
        setattr(charger, column, str(payload.get(key) or "")[:VENDOR_STRING_MAX])
    now = timezone.now()
    charger.heartbeat_interval = settings.CHARGING_HEARTBEAT_INTERVAL
    if charger.is_accepted:
        charger.booted_at = now
    charger.last_message_at = now
    # Only these columns: the connection columns belong to the consumer that owns the socket.
    charger.save(update_fields=[*BOOT_FIELDS, "heartbeat_interval", "booted_at", "last_message_at"])
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


_BEATS = """
UPDATE {table} AS c
   SET last_heartbeat_at = v.at,
       last_message_at = GREATEST(COALESCE(c.last_message_at, v.at), v.at),
       connected = CASE WHEN v.channel <> '' AND NOT c.connected AND c.channel_name = ''
                        THEN true ELSE c.connected END,
       connected_at = CASE WHEN v.channel <> '' AND NOT c.connected AND c.channel_name = ''
                           THEN v.at ELSE c.connected_at END,
       channel_name = CASE WHEN v.channel <> '' AND NOT c.connected AND c.channel_name = ''
                           THEN v.channel ELSE c.channel_name END
  FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v(id, at, channel),
       (SELECT set_config('synchronous_commit', 'off', true)) AS no_disk_wait
 WHERE c.id = v.id
"""


def heartbeats_record(*, beats: dict[int, tuple[datetime, str]]) -> None:
    """``{charger id: (time, channel name)}``: as ``heartbeat_record`` for each (the
    heartbeat time, and bringing back a charger the offline check gave up on while that socket
    stayed open), in one statement."""
    if not beats:
        return
    if connection.vendor != "postgresql":
        for charger_id, (_, channel_name) in beats.items():
            heartbeat_record(charger_id=charger_id, channel_name=channel_name)
        return
    ids = list(beats)
    with connection.cursor() as cursor:
        cursor.execute(
            _BEATS.format(table=connection.ops.quote_name(Charger._meta.db_table)),
            [ids, [beats[i][0] for i in ids], [beats[i][1] for i in ids]],
        )


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
        if status == "Faulted" and connector.status != "Faulted":
            charger_fault_announce(
                charger=charger, connector_id=connector_id, error_code=error_code, info=info or ""
            )
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
