"""BootNotification stored in one statement.

After a reconnect storm every charger boots again, and the storm is over only when the whole
fleet is Boot Accepted. Profiled (bench/README.md), ``services.boot_notification_record`` was the
largest part of the database threads' time once the handshake took one statement: five round
trips (BEGIN, SET LOCAL, SELECT for the registration staff may have changed, UPDATE, COMMIT).
Here the same columns are written by one ``UPDATE ... RETURNING`` in autocommit that reads the
current registration in the row it updates (so a decision staff made since the socket opened
counts, as the refresh did) and commits without waiting for the disk (``set_config`` local to
the statement's transaction). Other databases take the service.
"""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import services
from .models import Charger, Registration

# Column -> BootNotification key (snake_case, as the ocpp library hands the payload over).
FIELDS = {
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
    """As ``services.boot_notification_record`` (the same columns and rules, vendor strings cut
    to what the column holds rather than refused), in one round trip."""
    if connection.vendor != "postgresql":
        return services.boot_notification_record(charger=charger, payload=payload)
    values = {
        column: str(payload.get(key) or "")[: services.VENDOR_STRING_MAX]
        for column, key in FIELDS.items()
    }
    now = timezone.now()
    sql = _BOOT.format(
        table=connection.ops.quote_name(Charger._meta.db_table),
        columns=", ".join(f"{connection.ops.quote_name(c)} = %({c})s" for c in FIELDS),
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
