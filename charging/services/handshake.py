"""A charger's websocket handshake in one database call: authenticate and take the socket.

A reconnect storm is limited by how many handshakes one daphne completes a second. Profiled
(bench/README.md), a handshake's time was almost all the database threads waiting on
PostgreSQL: two thread hops (``charger_authenticate``, then ``charger_connection_open``) and
about six round trips (SELECT; BEGIN, SET LOCAL, SELECT ... FOR UPDATE, UPDATE, COMMIT).

A charger on a generated key (``charging.keys``) presents a key whose stored form is an HMAC we
can compute here, so the whole check-and-take is one ``UPDATE ... RETURNING`` in autocommit:
the row is taken only if its stored digest is the one of the key presented (with the current
SECRET_KEY or a fallback; a fallback's digest is rewritten with the current one in the same
statement, as ``charger_authenticate`` does), the previous owner's channel comes back from the
locked row, and the commit does not wait for the disk (``set_config`` local to the statement's
transaction, as ``_commit_without_waiting_for_disk`` does for the two-call path). Every other
case - unknown charge point, Pending without a key, a legacy PBKDF2 hash, a wrong key, a
database other than PostgreSQL - takes the two services as before, still in one thread hop.
"""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .. import keys
from ..models import Charger, OcppVersion
from .connections import _push_connections, charger_authenticate, charger_connection_open

_TAKE = """
UPDATE {table} AS taken
   SET connected = true, channel_name = %(channel)s, remote_address = %(address)s,
       connected_at = %(now)s, last_message_at = %(now)s, password_hash = %(digest)s,
       ocpp_version = %(version)s
  FROM (SELECT id, channel_name FROM {table}
         WHERE charge_point_id = %(cp)s AND password_hash = ANY(%(digests)s)
           FOR UPDATE) AS before,
       (SELECT set_config('synchronous_commit', 'off', true)) AS no_disk_wait
 WHERE taken.id = before.id
RETURNING taken.*, before.channel_name AS previous_channel
"""


def _digests(password: bytes | str | None) -> list[str]:
    """The stored forms ``password`` matches: its digest with SECRET_KEY, then the fallbacks."""
    key = keys.key_canonical(password) if password is not None else None
    if key is None:
        return []
    return [keys.key_digest(key)] + [
        keys._digest(key, secret) for secret in getattr(settings, "SECRET_KEY_FALLBACKS", [])
    ]


def charger_connection_take(
    *,
    charge_point_id: str,
    password: bytes | str | None,
    channel_name: str,
    remote_address: str,
    ocpp_version: str = OcppVersion.V16,
) -> tuple[Charger | None, str]:
    """``(charger, previous channel)``: the charger that may open a socket as
    ``charge_point_id``, now owned by ``channel_name`` (the previous owner, "" if none, is to be
    told to close) and speaking ``ocpp_version`` (the negotiated subprotocol's); ``(None, "")``
    to refuse. The same rules and stored state as ``charger_authenticate`` followed by
    ``charger_connection_open``."""
    digests = _digests(password)
    if digests and connection.vendor == "postgresql":
        taken = list(
            Charger.objects.raw(
                _TAKE.format(table=connection.ops.quote_name(Charger._meta.db_table)),
                {
                    "channel": channel_name,
                    "address": remote_address[:100],
                    "now": timezone.now(),
                    "digest": digests[0],
                    "cp": charge_point_id,
                    "digests": digests,
                    "version": ocpp_version,
                },
            )
        )
        if taken:
            charger = taken[0]
            previous = charger.previous_channel or ""
            _push_connections(  # autocommit: on_commit runs it at once
                [(charger.charge_point_id, charger.account_id)], connected=True
            )
            return charger, previous if previous != channel_name else ""
    charger = charger_authenticate(charge_point_id=charge_point_id, password=password)
    if charger is None:
        return None, ""
    previous = charger_connection_open(
        charger=charger,
        channel_name=channel_name,
        remote_address=remote_address,
        ocpp_version=ocpp_version,
    )
    return charger, previous
