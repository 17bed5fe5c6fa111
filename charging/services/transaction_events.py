"""OCPP 2.0.1 charging sessions: every TransactionEvent (Started, Updated, Ended) is stored once
per (charger, transactionId, seqNo) and applied to the one ``Transaction`` row the station's
transactionId names - the same table 1.6 sessions live in, so sessions, bills and pages do not
care which version a charger speaks.

Events arrive late, out of order (a station emptying its offline queue) or twice (a retry after
a lost answer); each is answered all the same:

- the first event seen for a transactionId opens its row, whatever its type (one not Started is
  an anomaly); ``started_at`` is the earliest event time seen, ``stopped_at`` the Ended one's;
- a retried seqNo changes nothing and gets the same answer;
- the energy register's first and last samples of the session (Wh, as stored) give
  meterStart / meterStop and the energy billed; a session without a register sample is billed
  0 kWh and recorded as an anomaly when it ends.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import (
    ENERGY_REGISTER,
    Charger,
    IdTag,
    MeterValue,
    Reservation,
    ReservationStatus,
    Transaction,
    TransactionEvent,
)
from .announcements import session_ended_announce
from .common import _anomaly, _push_session_event
from .common import parse_ocpp_time as _parse_time
from .connector_live import _TO_BASE, _live_session_begins, _live_stop, _live_update
from .meter_values import _meter_values_store
from .stations import id_token_info_201, meter_values_from_201
from .transactions import _session_data


def _event_store(charger: Charger, event: dict, at) -> TransactionEvent | None:
    """The event's row, or None when this (transactionId, seqNo) is stored already."""
    info = event["transaction_info"]
    try:
        with transaction.atomic():
            return TransactionEvent.objects.create(
                charger=charger,
                transaction_uid=info["transaction_id"],
                seq_no=event["seq_no"],
                event_type=event["event_type"],
                trigger_reason=event["trigger_reason"],
                offline=bool(event.get("offline")),
                timestamp=at,
                payload=event,
            )
    except IntegrityError:
        return None


def _session_open(charger: Charger, event: dict, at, token: dict | None, info) -> Transaction:
    """The row of the event's transaction, created (locked either way) when first seen."""
    uid = event["transaction_info"]["transaction_id"]
    row = Transaction.objects.select_for_update().filter(charger=charger, transaction_uid=uid)
    if existing := row.first():
        return existing
    id_tag = (token or {}).get("id_token", "")
    tag = IdTag.objects.filter(id_tag__iexact=id_tag).first() if id_tag else None
    evse = event.get("evse") or {}
    created = Transaction.objects.create(
        charger=charger,
        transaction_uid=uid,
        connector_id=evse.get("id") or 0,
        id_tag=id_tag[:36],
        tag=tag,
        account_id=(
            tag.account_id
            if tag and tag.account_id
            else Charger.objects.values_list("account_id", flat=True).get(pk=charger.pk)
        ),
        authorization_status=info["status"],
        reservation_id=event.get("reservation_id"),
        meter_start_wh=0,
        started_at=at,
    )
    if event["event_type"] != "Started":
        _anomaly(charger, "transaction_event_without_start", created, seq_no=event["seq_no"])
    if token and info["status"] != "Accepted":
        _anomaly(charger, "start_not_accepted", created, id_tag=id_tag, status=info["status"])
    return created


def _energy_register_wh(row: Transaction) -> tuple[int, int] | None:
    """(first, last) energy register reading of the session in Wh, by sample time."""
    samples = [
        sample.numeric * _TO_BASE[sample.unit]
        for sample in MeterValue.objects.filter(
            transaction=row, measurand=ENERGY_REGISTER, phase="", numeric__isnull=False
        ).order_by("sampled_at", "pk")
        if sample.unit in ("Wh", "kWh")
    ]
    return (int(samples[0]), int(samples[-1])) if samples else None


def _session_apply(charger: Charger, row: Transaction, event: dict, at, token, info) -> None:
    fields = {"meter_start_wh"}
    if at < row.started_at:
        row.started_at = at
        fields.add("started_at")
    if evse := event.get("evse"):
        row.connector_id = evse["id"]
        fields.add("connector_id")
    if event.get("reservation_id") is not None:
        row.reservation_id = event["reservation_id"]
        fields.add("reservation_id")
        Reservation.objects.filter(
            pk=event["reservation_id"], charger=charger, status=ReservationStatus.ACCEPTED
        ).update(status=ReservationStatus.USED)
    if token and not row.id_tag:  # the token that authorized the session (E02: plug in first)
        row.id_tag, row.authorization_status = token["id_token"][:36], info["status"]
        row.tag = IdTag.objects.filter(id_tag__iexact=row.id_tag).first()
        fields |= {"id_tag", "authorization_status", "tag"}
        if info["status"] != "Accepted":
            _anomaly(charger, "start_not_accepted", row, id_tag=row.id_tag, status=info["status"])
    register = _energy_register_wh(row)
    if register:
        row.meter_start_wh = register[0]
    if event["event_type"] == "Ended":
        _session_end(charger, row, event, at, token, register)
        fields |= {"meter_stop_wh", "stopped_at", "stop_reason", "stop_id_tag", "energy_kwh"}
    elif row.stopped_at is not None and register:  # a late event of an ended session
        row.meter_stop_wh = register[1]
        row.energy_kwh = _kwh(register)
        fields |= {"meter_stop_wh", "energy_kwh"}
    row.save(update_fields=sorted(fields))


def _session_end(charger, row: Transaction, event: dict, at, token, register) -> None:
    if row.stopped_at is not None and row.stopped_at != at:
        _anomaly(charger, "stop_already_stopped", row, seq_no=event["seq_no"])
        return
    if register is None:
        _anomaly(charger, "no_energy_register", row, seq_no=event["seq_no"])
    first, last = register or (0, 0)
    row.meter_stop_wh = last
    row.stopped_at = max(at, row.started_at)
    row.stop_reason = event["transaction_info"].get("stopped_reason") or "Local"
    row.stop_id_tag = (token or {}).get("id_token", "")[:36]
    row.energy_kwh = _kwh((first, last))


def _kwh(register: tuple[int, int]) -> Decimal:
    return (Decimal(max(register[1] - register[0], 0)) / 1000).quantize(Decimal("0.001"))


@transaction.atomic
def transaction_event_record(*, charger: Charger, event: dict) -> dict:
    """Store and apply a TransactionEventRequest (snake_case, as validated); returns the
    TransactionEventResponse fields: ``id_token_info`` when the request carried an idToken."""
    token = event.get("id_token")
    at = _parse_time(event.get("timestamp"))
    if at is None:
        _anomaly(charger, "bad_timestamp", timestamp=event.get("timestamp"))
        at = timezone.now()
    stored = _event_store(charger, event, at)
    if stored is None:  # a retry: stored and applied already, answered as before
        return {"id_token_info": id_token_info_201(id_token=token)} if token else {}
    # Whether the token may start one more session is asked before this one exists.
    starting = not Transaction.objects.filter(
        charger=charger, transaction_uid=event["transaction_info"]["transaction_id"]
    ).exists()
    info = id_token_info_201(id_token=token, starting=starting) if token else None
    answer = {"id_token_info": info} if info else {}
    row = _session_open(charger, event, at, token, info or {"status": ""})
    TransactionEvent.objects.filter(pk=stored.pk).update(transaction=row)
    began = row.started_at == at and event["event_type"] == "Started"
    samples = _meter_values_store(
        charger, row, row.connector_id, meter_values_from_201(event.get("meter_value"))
    )
    was_open = row.stopped_at is None
    _session_apply(charger, row, event, at, token, info or {"status": ""})
    if was_open and row.stopped_at is not None:
        session_ended_announce(charger=charger, row=row)
    if began and not samples:
        _live_session_begins(charger, row)
    if row.stopped_at is not None:
        _live_stop(charger, row)
    elif samples:
        _live_update(charger, row.connector_id, samples, row)
    _push_session_event(charger, row, "charging.session", _session_data(row))
    return answer
