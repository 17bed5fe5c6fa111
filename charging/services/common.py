"""What several of the charging services share: the relaxed commit of a socket's
housekeeping writes, OCPP's time and string rules, anomalies, and a session's pushes.

Times from chargers are UTC (OCPP dateTime); a timestamp without an offset is read as UTC."""

import logging
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import live

from ..models import (
    INT32_MAX,
    Anomaly,
    Charger,
    Transaction,
)

log = logging.getLogger(__name__)


def _commit_without_waiting_for_disk() -> None:
    """This transaction's COMMIT does not wait for its WAL to reach the disk (PostgreSQL's
    ``synchronous_commit = off`` for this transaction only). For what a socket's life writes -
    connected/disconnected, boot details, the frame log - that each handshake and message would
    otherwise wait a disk flush for: after a reconnect storm on a busy machine that wait was a
    fifth of the database threads' time. A PostgreSQL crash can lose the last ~0.6 s of these
    (never corrupt them): the next connect or heartbeat writes them again. Transactions, meter
    values and commands keep the default."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _printable_ascii(value: str) -> bool:
    return all(" " <= character <= "~" for character in value)


def parse_ocpp_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _anomaly(charger: Charger, kind: str, transaction: Transaction | None = None, **detail):
    log.warning("charger %s: %s %s", charger.charge_point_id, kind, detail)
    return Anomaly.objects.create(
        charger=charger, transaction=transaction, kind=kind, detail=detail
    )


def _transaction_for(charger: Charger, transaction_id: int | None) -> Transaction | None:
    if transaction_id is None or not 1 <= transaction_id <= INT32_MAX:
        return None
    return Transaction.objects.filter(pk=transaction_id, charger=charger).first()


def _push_session_event(charger: Charger, row: Transaction, kind: str, data: dict) -> None:
    """A session's event goes to the account it is billed to and, when a visitor charges, also to
    the charger's owner, whose page shows the session (``data`` names no tag or account). Staff
    then get it twice; their pages refresh on it and the second copy costs nothing more."""
    live.push_on_commit(account_id=row.account_id, kind=kind, data=data)
    if charger.account_id is not None and charger.account_id != row.account_id:
        live.push_on_commit(account_id=charger.account_id, kind=kind, data=data)
