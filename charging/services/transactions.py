"""Charging sessions: StartTransaction allocates one, StopTransaction closes it; retries,
refused tags and impossible stops are answered all the same and recorded as anomalies."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import (
    Charger,
    IdTag,
    Reservation,
    ReservationStatus,
    Transaction,
)
from .announcements import session_ended_announce
from .common import _anomaly, _push_session_event, _transaction_for, parse_ocpp_time
from .connector_live import _live_session_begins, _live_stop
from .meter_values import _meter_values_store
from .tags import id_tag_info


@dataclass(frozen=True)
class StartResult:
    transaction: Transaction
    id_tag_info: dict
    replayed: bool


def transaction_start(
    *,
    charger: Charger,
    connector_id: int,
    id_tag: str,
    meter_start: int,
    timestamp: str,
    reservation_id: int | None = None,
) -> StartResult:
    """Allocate a transaction id (or return the one a retry of the same start already got).
    Always gives an id, even for a refused tag: the charger needs one to stop with."""
    started_at = parse_ocpp_time(timestamp)
    bad_time = started_at is None
    started_at = started_at or timezone.now().replace(microsecond=0)
    key = {
        "charger": charger,
        "connector_id": connector_id,
        "id_tag": id_tag,
        "started_at": started_at,
        "meter_start_wh": meter_start,
    }
    with transaction.atomic():
        existing = Transaction.objects.filter(**key).first()
        if existing:
            return StartResult(existing, _stored_info(existing), replayed=True)
        info = id_tag_info(id_tag=id_tag, starting=True)
        tag = IdTag.objects.filter(id_tag__iexact=id_tag).first()
        try:
            with transaction.atomic():
                created = Transaction.objects.create(
                    **key,
                    tag=tag,
                    account_id=(
                        tag.account_id
                        if tag and tag.account_id
                        else Charger.objects.values_list("account_id", flat=True).get(pk=charger.pk)
                    ),
                    authorization_status=info["status"],
                    reservation_id=reservation_id,
                )
        except IntegrityError:  # the same retry raced us
            existing = Transaction.objects.get(**key)
            return StartResult(existing, _stored_info(existing), replayed=True)
        if info["status"] != "Accepted":
            _anomaly(charger, "start_not_accepted", created, id_tag=id_tag, status=info["status"])
        if bad_time:
            _anomaly(charger, "bad_timestamp", created, timestamp=timestamp)
        if reservation_id is not None:
            Reservation.objects.filter(
                pk=reservation_id, charger=charger, status=ReservationStatus.ACCEPTED
            ).update(status=ReservationStatus.USED)
        _live_session_begins(charger, created)
        _push_session_event(charger, created, "charging.session", _session_data(created))
    return StartResult(created, info, replayed=False)


def _stored_info(transaction_row: Transaction) -> dict:
    info = id_tag_info(id_tag=transaction_row.id_tag)
    return info | {"status": transaction_row.authorization_status}


def _session_data(row: Transaction) -> dict:
    return {
        "transaction_id": row.pk,
        "charger": row.charger.charge_point_id,
        "connector_id": row.connector_id,
        "started_at": row.started_at.isoformat(),
        "stopped_at": row.stopped_at.isoformat() if row.stopped_at else None,
        "energy_kwh": str(row.energy_kwh) if row.energy_kwh is not None else None,
    }


def _stop_tag_info(row: Transaction, stop_id_tag: str | None) -> dict | None:
    """A stop by the starting tag or by a tag sharing its parent is accepted; any other tag
    gets its own status, or Invalid when it is valid but unrelated to the session."""
    if not stop_id_tag:
        return None
    info = id_tag_info(id_tag=stop_id_tag)
    if stop_id_tag.upper() == row.id_tag.upper():  # IdToken is case-insensitive
        return info
    start_parent = id_tag_info(id_tag=row.id_tag).get("parent_id_tag") or row.id_tag
    stop_parent = info.get("parent_id_tag") or stop_id_tag
    if info["status"] == "Accepted" and start_parent.upper() != stop_parent.upper():
        return info | {"status": "Invalid"}
    return info


@transaction.atomic
def transaction_stop(
    *,
    charger: Charger,
    transaction_id: int,
    meter_stop: int,
    timestamp: str,
    reason: str | None = None,
    id_tag: str | None = None,
    transaction_data: list | None = None,
) -> dict | None:
    """Close a session; returns the stop tag's IdTagInfo (or None without a tag). An unknown,
    bogus or already stopped transaction is answered all the same and recorded as an anomaly."""
    row = _transaction_for(charger, transaction_id)
    info = id_tag_info(id_tag=id_tag) if id_tag else None
    if row is None:
        _anomaly(
            charger,
            "stop_unknown_transaction",
            transaction_id=transaction_id,
            meter_stop=meter_stop,
        )
        if transaction_data:
            _meter_values_store(charger, None, 0, transaction_data)
        return info
    row = Transaction.objects.select_for_update().get(pk=row.pk)
    if row.stopped_at is not None:
        _anomaly(charger, "stop_already_stopped", row, meter_stop=meter_stop, timestamp=timestamp)
        return _stop_tag_info(row, id_tag)
    stopped_at = parse_ocpp_time(timestamp)
    if stopped_at is None:
        _anomaly(charger, "bad_timestamp", row, timestamp=timestamp)
        stopped_at = timezone.now()
    if stopped_at < row.started_at:
        _anomaly(charger, "stop_before_start", row, timestamp=timestamp)
        stopped_at = row.started_at
    if meter_stop < row.meter_start_wh:
        _anomaly(charger, "meter_went_down", row, meter_stop=meter_stop)
    row.meter_stop_wh = meter_stop
    row.stopped_at = stopped_at
    row.stop_reason = reason or "Local"
    row.stop_id_tag = id_tag or ""
    row.energy_kwh = (Decimal(max(meter_stop - row.meter_start_wh, 0)) / 1000).quantize(
        Decimal("0.001")
    )
    row.transaction_data = transaction_data or []
    row.save()
    # transactionData is kept with the session; meterStop is what the connector shows after it.
    _meter_values_store(charger, row, row.connector_id, transaction_data or [])
    _live_stop(charger, row)
    _push_session_event(charger, row, "charging.session", _session_data(row))
    session_ended_announce(charger=charger, row=row)
    return _stop_tag_info(row, id_tag)
