"""Every write of the charging app. The OCPP handlers, the API, the admin and the beat tasks all
come through here, so a rule holds whichever door the data came in by.

Times from chargers are UTC (OCPP dateTime); a timestamp without an offset is read as UTC.
"""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, _validate_payload
from ocpp.v16 import call as ocpp_call

from accounts import live
from accounts.models import CustomerAccount, User
from config.exceptions import ApplicationError, Conflict

from . import keys
from .models import (
    INT32_MAX,
    Anomaly,
    Charger,
    ChargerCommand,
    ChargingNode,
    ChargingProfile,
    CommandStatus,
    Connector,
    IdTag,
    LocalAuthListEntry,
    MeterValue,
    OcppMessage,
    Registration,
    Reservation,
    ReservationStatus,
    StatusNotification,
    Transaction,
)

log = logging.getLogger(__name__)

OPERATIONS = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetConfiguration",
    "ChangeConfiguration",
    "ClearCache",
    "TriggerMessage",
    "DataTransfer",
    "GetLocalListVersion",
    "SendLocalList",
    "ReserveNow",
    "CancelReservation",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "GetDiagnostics",
    "UpdateFirmware",
)
CUSTOMER_OPERATIONS = ("RemoteStartTransaction", "RemoteStopTransaction", "UnlockConnector")
NOT_WHILE_PENDING = ("RemoteStartTransaction", "RemoteStopTransaction")
# A charger's answer ``status`` that means it did (or scheduled) what was asked.
ACCEPTED_ANSWERS = {"Accepted", "Unlocked", "Scheduled"}
VENDOR_STRING_MAX = 255


# --- connection ---------------------------------------------------------------------------------


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


def charger_authenticate(*, charge_point_id: str, password: bytes | str | None) -> Charger | None:
    """The charger that may open a socket as ``charge_point_id``, or None to refuse it.

    Unknown charge points are refused under the "known" policy and stored as Pending under the
    "pending" policy (without a password: staff set one when they accept it). A charger without
    a password may connect only while Pending, where it can do nothing but boot; every other
    charger must give its HTTP Basic password (security profile 1), checked against its keyed
    digest in microseconds (``charging.keys``). A legacy PBKDF2 hash that matches is rewritten
    to the keyed digest, so it is paid once."""
    charger = Charger.objects.filter(charge_point_id=charge_point_id).first()
    if charger is None:
        if settings.CHARGING_REGISTRATION_POLICY != "pending":
            return None
        charger, _ = Charger.objects.get_or_create(
            charge_point_id=charge_point_id,
            defaults={"registration": Registration.PENDING},
        )
    if charger.registration == Registration.PENDING and not charger.password_hash:
        return charger
    matches, needs_rehash = keys.key_matches(password, charger.password_hash)
    if not matches:
        return None
    if needs_rehash:
        digest = keys.key_digest(keys.key_canonical(password))
        # Only if nobody set a new key meanwhile.
        Charger.objects.filter(pk=charger.pk, password_hash=charger.password_hash).update(
            password_hash=digest
        )
        charger.password_hash = digest
    return charger


@transaction.atomic
def charger_connection_open(*, charger: Charger, channel_name: str, remote_address: str) -> str:
    """Make ``channel_name`` the one owner of the charger's socket; returns the previous owner's
    channel (to be told to close) or ""."""
    _commit_without_waiting_for_disk()
    locked = Charger.objects.select_for_update().get(pk=charger.pk)
    previous = locked.channel_name if locked.channel_name != channel_name else ""
    now = timezone.now()
    Charger.objects.filter(pk=charger.pk).update(
        connected=True,
        channel_name=channel_name,
        remote_address=remote_address[:100],
        connected_at=now,
        last_message_at=now,
    )
    _push_connections([(locked.charge_point_id, locked.account_id)], connected=True)
    return previous


def _push_connections(chargers: list[tuple[str, int | None]], *, connected: bool) -> None:
    """``charging.connection`` to each (charge point id, owner account): open pages show the
    charger online or offline without waiting for its next status."""
    if chargers:
        transaction.on_commit(
            lambda: live.push_many(
                (account_id, "charging.connection", {"charger": cp_id, "connected": connected})
                for cp_id, account_id in chargers
            )
        )


@transaction.atomic
def charger_connection_close(*, charger_id: int, channel_name: str) -> None:
    """A socket closed. Only its owner may mark the charger disconnected: a stale socket closing
    after a reconnect must not take the new connection's state with it."""
    _commit_without_waiting_for_disk()
    owned = Charger.objects.filter(pk=charger_id, channel_name=channel_name)
    closing = list(owned.values_list("charge_point_id", "account_id"))
    owned.update(connected=False, channel_name="", disconnected_at=timezone.now())
    _push_connections(closing, connected=False)


def chargers_mark_offline(*, now: datetime | None = None) -> int:
    """Chargers whose last message is older than 2 x heartbeat interval + grace are offline,
    whatever their socket state says (a power cut leaves no close frame)."""
    now = now or timezone.now()
    grace = settings.CHARGING_OFFLINE_GRACE
    connected = Charger.objects.filter(connected=True)
    # Interval arithmetic on a column is not portable (SQLite refuses ``F(...) * timedelta``), but a
    # fleet has only a few distinct heartbeat intervals: one cut-off each, OR-ed in one query.
    intervals = connected.order_by().values_list("heartbeat_interval", flat=True).distinct()
    overdue = Q(last_message_at__isnull=True)
    for interval in intervals:
        cutoff = now - timedelta(seconds=grace + 2 * interval)
        overdue |= Q(heartbeat_interval=interval, last_message_at__lt=cutoff)
    stale = connected.filter(overdue)
    with transaction.atomic():
        going = list(stale.select_for_update().values_list("charge_point_id", "account_id"))
        marked = stale.update(connected=False, channel_name="", disconnected_at=now)
        _push_connections(going, connected=False)
    return marked + chargers_release_dead_nodes(now=now)  # and those of a killed node


def node_of(channel_name: str) -> str:
    """The node (process) part of a consumer's channel name: channel layers name a process's
    channels ``<prefix>!<unique>``."""
    return channel_name.rpartition("!")[0] or channel_name


@transaction.atomic
def charging_node_heartbeat(*, name: str, now: datetime | None = None) -> int:
    """Node ``name`` is alive; and chargers owned by nodes silent for CHARGING_NODE_TTL are
    released, so every live node detects a killed one. Returns how many were released."""
    now = now or timezone.now()
    ChargingNode.objects.update_or_create(name=name, defaults={"seen_at": now})
    return chargers_release_dead_nodes(now=now)


def charging_node_gone(*, name: str) -> None:
    """A node shutting down (its sockets were closed and released one by one)."""
    ChargingNode.objects.filter(name=name).delete()


@transaction.atomic
def charging_node_release(*, name: str) -> int:
    """A node shutting down with its sockets closed: every charger it still owns is marked
    disconnected in one statement (a fleet of 2,000 sockets released one by one kept the old
    node's shutdown, and so the fleet's return, waiting for 2,000 round trips). A charger that
    already reconnected elsewhere has another owner and is not touched."""
    _commit_without_waiting_for_disk()
    owned = Charger.objects.filter(channel_name__startswith=f"{name}!", connected=True)
    going = list(owned.select_for_update().values_list("charge_point_id", "account_id"))
    released = owned.update(connected=False, channel_name="", disconnected_at=timezone.now())
    ChargingNode.objects.filter(name=name).delete()
    _push_connections(going, connected=False)
    return released


def _dead_nodes(now: datetime):
    return ChargingNode.objects.filter(
        seen_at__lt=now - timedelta(seconds=settings.CHARGING_NODE_TTL)
    )


@transaction.atomic
def chargers_release_dead_nodes(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    dead = list(_dead_nodes(now).select_for_update(skip_locked=True).values_list("name", flat=True))
    if not dead:
        return 0
    owned = Q()
    for name in dead:
        owned |= Q(channel_name__startswith=f"{name}!")
    stale = Charger.objects.filter(owned, connected=True)
    going = list(stale.select_for_update().values_list("charge_point_id", "account_id"))
    released = stale.update(connected=False, channel_name="", disconnected_at=now)
    ChargingNode.objects.filter(name__in=dead).delete()
    if released:
        log.warning("released %s chargers of dead nodes %s", released, dead)
    _push_connections(going, connected=False)
    return released


def _owner_is_dead(channel_name: str) -> bool:
    return _dead_nodes(timezone.now()).filter(name=node_of(channel_name)).exists()


UNAUTHENTICATED_ACCEPT_REFUSED = (
    "Set the charger's password before accepting it: an accepted charger must authenticate."
)


def _printable_ascii(value: str) -> bool:
    return all(" " <= character <= "~" for character in value)


CHARGE_POINT_ID_MAX = 48  # the column, and what routing.py takes from the URL


def charge_point_id_validate(charge_point_id: str) -> None:
    """OCPP-J 1.6 puts the identity in the connection URL and in HTTP Basic's user name: printable
    ASCII without "/" (it ends the URL's path segment) or ":" (it ends a Basic user name). Spaces
    inside are allowed ("RDAM 123" is the spec's example), at either end they are a typo."""
    if not 1 <= len(charge_point_id) <= CHARGE_POINT_ID_MAX:
        raise ApplicationError(
            f"A charge point identity has 1 to {CHARGE_POINT_ID_MAX} characters.",
            field="charge_point_id",
        )
    if not _printable_ascii(charge_point_id) or "/" in charge_point_id or ":" in charge_point_id:
        raise ApplicationError(
            'A charge point identity is printable ASCII without "/" or ":": chargers send it in '
            "the connection URL and as the HTTP Basic user name.",
            field="charge_point_id",
        )
    if charge_point_id != charge_point_id.strip():
        raise ApplicationError(
            "A charge point identity has no spaces at either end.", field="charge_point_id"
        )


def charger_password_validate(password: str) -> None:
    """A key staff enter (one the charger was installed with): 16 to 40 printable ASCII
    characters, as the OCPP security whitepaper makes the AuthorizationKey. Leave it out and the
    server generates one."""
    if not keys.KEY_MIN <= len(password) <= keys.KEY_MAX or not _printable_ascii(password):
        raise ApplicationError(
            f"A charger password (AuthorizationKey) has {keys.KEY_MIN} to {keys.KEY_MAX} "
            "printable ASCII characters; leave it out to have one generated.",
            field="password",
        )


def _charger_exists(charger: Charger) -> Conflict:
    return Conflict(
        f"Charger {charger.charge_point_id} already exists.",
        field="charge_point_id",
        extra={"existing_id": charger.pk},
    )


@transaction.atomic
def charger_register(
    *,
    charge_point_id: str,
    password: str = "",
    account: CustomerAccount | None = None,
    registration: str = Registration.ACCEPTED,
) -> Charger:
    """A new charger. Registering the same identity again (a replayed request) is a Conflict
    naming the stored charger: there is no idempotent create, so a retry never changes it.

    An Accepted charger registered without a password gets a generated key, on the returned
    object only (``authorization_key``): shown once, as API tokens are; only its digest is
    stored."""
    charge_point_id_validate(charge_point_id)
    existing = Charger.objects.filter(charge_point_id=charge_point_id).first()
    if existing:
        raise _charger_exists(existing)
    generated = ""
    if password:
        charger_password_validate(password)
    elif registration == Registration.ACCEPTED:
        password = generated = keys.key_new()
    charger = Charger(charge_point_id=charge_point_id, account=account, registration=registration)
    charger.set_password(password)
    charger.authorization_key = generated
    try:
        with transaction.atomic():
            charger.save()
    except IntegrityError:  # the same registration raced this one
        raise _charger_exists(Charger.objects.get(charge_point_id=charge_point_id)) from None
    return charger


CHARGER_CHANGES = {"account", "registration", "password"}


@transaction.atomic
def charger_update(*, charger: Charger, requested_by: User | None = None, **changes) -> Charger:
    """Staff change a charger's owner, registration or password (``CHARGER_CHANGES``; its
    identity is what it connects with and never changes). Registration Rejected retires a
    charger: it is answered Rejected at every boot and sent nothing; a connected one learns at
    its next BootNotification."""
    if unknown := set(changes) - CHARGER_CHANGES:
        raise TypeError(f"charger_update does not change {sorted(unknown)}")
    charger = Charger.objects.select_for_update().get(pk=charger.pk)
    registration = changes.get("registration", charger.registration)
    if "password" in changes:
        if not changes["password"] and registration == Registration.ACCEPTED:
            raise ApplicationError(UNAUTHENTICATED_ACCEPT_REFUSED, field="password")
        charger_set_password(charger=charger, password=changes["password"])
    if "account" in changes:
        charger.account = changes["account"]
        charger.save(update_fields=["account"])
    if registration != charger.registration:
        charger_set_registration(
            charger=charger, registration=registration, requested_by=requested_by
        )
    return charger


@transaction.atomic
def charger_delete(*, charger: Charger) -> None:
    """Delete a charger registered by mistake. One that any record refers to (sessions, its
    frame log, status history, commands...) or that is connected is kept - Conflict - and is
    retired instead with registration Rejected, so its history stays whole."""
    # Locked: a row that would refer to it (a new frame, a session) waits until this is done.
    charger = Charger.objects.select_for_update().get(pk=charger.pk)
    retire = 'Retire it instead: set its registration to "Rejected".'
    if charger.connected:
        raise Conflict(f"Charger {charger.charge_point_id} is connected. {retire}")
    referring = [
        str(relation.related_model._meta.verbose_name_plural)
        for relation in Charger._meta.related_objects
        if relation.related_model._base_manager.filter(**{relation.field.name: charger}).exists()
    ]
    if referring:
        raise Conflict(
            f"Charger {charger.charge_point_id} cannot be deleted: {', '.join(referring)} refer "
            f"to it. {retire}",
            extra={"referred_to_by": referring},
        )
    charger.delete()


@transaction.atomic
def charger_set_registration(
    *, charger: Charger, registration: str, requested_by: User | None = None
) -> Charger:
    """Staff accept or reject a charger. It learns at its next BootNotification; a connected
    charger that is accepted is asked for one at once (TriggerMessage is allowed while Pending)."""
    if registration == Registration.ACCEPTED and not charger.password_hash:
        raise ApplicationError(UNAUTHENTICATED_ACCEPT_REFUSED, field="password")
    charger.registration = registration
    charger.save(update_fields=["registration"])
    charger.refresh_from_db(fields=["connected", "channel_name"])
    if registration == Registration.ACCEPTED and charger.connected:
        command_create(
            charger=charger,
            operation="TriggerMessage",
            payload={"requestedMessage": "BootNotification"},
            requested_by=requested_by,
        )
    return charger


# --- the frame log ------------------------------------------------------------------------------


def _frame_fields(frame: str) -> dict:
    try:
        parsed = json.loads(frame)
    except (ValueError, TypeError):
        return {}
    if not isinstance(parsed, list) or len(parsed) < 2:
        return {}
    fields = {"unique_id": str(parsed[1])[:64]}
    if isinstance(parsed[0], int) and 2 <= parsed[0] <= 4:
        fields["message_type"] = parsed[0]
    if parsed[0] == 2 and len(parsed) > 2:
        fields["action"] = str(parsed[2])[:64]
    return fields


@transaction.atomic
def ocpp_messages_record(*, rows: list[dict]) -> None:
    """Store a batch of frames (dicts of charger_id, charge_point_id, direction, frame,
    created_at) and move each sending charger's last message time forward (one commit)."""
    _commit_without_waiting_for_disk()
    if settings.CHARGING_LOG_MESSAGES:
        OcppMessage.objects.bulk_create(
            OcppMessage(**row, **_frame_fields(row["frame"])) for row in rows
        )
    last_in: dict[int, datetime] = {}
    for row in rows:
        if row["direction"] == "in" and row["charger_id"]:
            last_in[row["charger_id"]] = max(
                row["created_at"], last_in.get(row["charger_id"], row["created_at"])
            )
    if last_in:
        newest = max(last_in.values())
        Charger.objects.filter(pk__in=last_in).filter(
            Q(last_message_at__lt=newest) | Q(last_message_at__isnull=True)
        ).update(last_message_at=newest)


def ocpp_messages_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHARGING_MESSAGE_RETENTION_DAYS)
    deleted, _ = OcppMessage.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- charger-initiated --------------------------------------------------------------------------


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


def id_tag_info(*, id_tag: str, starting: bool = False, now: datetime | None = None) -> dict:
    """The IdTagInfo answer (snake_case keys) for a tag: Accepted, Blocked, Expired, Invalid or
    ConcurrentTx (only when ``starting`` and the tag already runs its maximum)."""
    now = now or timezone.now()
    tag = IdTag.objects.select_related("parent").filter(id_tag__iexact=id_tag).first()
    if tag is None:
        return {"status": "Invalid"}
    info: dict = {}
    if tag.expires_at:
        info["expiry_date"] = tag.expires_at.astimezone(UTC).isoformat()
    if tag.parent:
        info["parent_id_tag"] = tag.parent.id_tag
    status = tag.authorization_status(now)
    if status != "Accepted":
        return info | {"status": status}
    if starting and tag.max_concurrent_transactions:
        running = Transaction.objects.filter(tag=tag, stopped_at__isnull=True).count()
        if running >= tag.max_concurrent_transactions:
            return info | {"status": "ConcurrentTx"}
    return info | {"status": "Accepted"}


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


def _push_session_event(charger: Charger, row: Transaction, kind: str, data: dict) -> None:
    """A session's event goes to the account it is billed to and, when a visitor charges, also to
    the charger's owner, whose page shows the session (``data`` names no tag or account). Staff
    then get it twice; their pages refresh on it and the second copy costs nothing more."""
    live.push_on_commit(account_id=row.account_id, kind=kind, data=data)
    if charger.account_id is not None and charger.account_id != row.account_id:
        live.push_on_commit(account_id=charger.account_id, kind=kind, data=data)


def _transaction_for(charger: Charger, transaction_id: int | None) -> Transaction | None:
    if transaction_id is None or not 1 <= transaction_id <= INT32_MAX:
        return None
    return Transaction.objects.filter(pk=transaction_id, charger=charger).first()


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
    return _stop_tag_info(row, id_tag)


ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER_IMPORT = "Power.Active.Import"
_TO_BASE = {"Wh": Decimal(1), "kWh": Decimal(1000), "W": Decimal(1), "kW": Decimal(1000)}


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    # What the column holds: 14 integer digits, 6 decimals.
    if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
        return None
    return number.quantize(Decimal("0.000001"))


def _meter_values_store(
    charger: Charger, row: Transaction | None, connector_id: int, meter_values: list
) -> list[MeterValue]:
    samples = []
    for meter_value in meter_values:
        sampled_at = parse_ocpp_time(meter_value.get("timestamp"))
        if sampled_at is None:
            _anomaly(charger, "bad_timestamp", row, timestamp=meter_value.get("timestamp"))
            sampled_at = timezone.now()
        for sampled in meter_value.get("sampled_value") or []:
            raw = str(sampled.get("value", ""))[:255]
            samples.append(
                MeterValue(
                    charger=charger,
                    connector_id=connector_id,
                    transaction=row,
                    sampled_at=sampled_at,
                    value=raw,
                    numeric=_decimal(raw),
                    measurand=sampled.get("measurand") or ENERGY_REGISTER,
                    phase=sampled.get("phase") or "",
                    unit=sampled.get("unit") or "Wh",
                    context=sampled.get("context") or "Sample.Periodic",
                    location=sampled.get("location") or "Outlet",
                    format=sampled.get("format") or "Raw",
                )
            )
    return MeterValue.objects.bulk_create(samples)


def _open_session(charger: Charger, connector_id: int) -> Transaction | None:
    """The session running on the connector (the newest, if a lost stop left an older open)."""
    return (
        Transaction.objects.filter(
            charger=charger, connector_id=connector_id, stopped_at__isnull=True
        )
        .order_by("-started_at", "-pk")
        .first()
    )


def _live_update(
    charger: Charger, connector_id: int, samples: list[MeterValue], session: Transaction | None
) -> None:
    """Keep the connector's live figures at its newest sample: power as sampled, energy as the
    running ``session``'s (register minus its meterStart; without a session only power moves).
    A late sample queued while offline does not overwrite a newer one."""
    power = energy = None
    for sample in samples:
        if sample.numeric is None or sample.phase or sample.unit not in _TO_BASE:
            continue
        if sample.measurand == POWER_IMPORT and (power is None or sample.sampled_at >= power[0]):
            power = (sample.sampled_at, sample.numeric * _TO_BASE[sample.unit])
        if (
            sample.measurand == ENERGY_REGISTER
            and session is not None
            and sample.sampled_at >= session.started_at
            and (energy is None or sample.sampled_at >= energy[0])
        ):
            delivered_wh = sample.numeric * _TO_BASE[sample.unit] - session.meter_start_wh
            if 0 <= delivered_wh < Decimal(10) ** 14:  # a register below meterStart is not it
                energy = (sample.sampled_at, delivered_wh / 1000)
    newest = max([p for p in (power, energy) if p], default=None, key=lambda p: p[0])
    if newest is None:
        return
    connector, _ = Connector.objects.select_for_update().get_or_create(
        charger=charger, connector_id=connector_id
    )
    if connector.live_at and connector.live_at > newest[0]:
        return
    if power:
        connector.live_power_w = power[1].quantize(Decimal("0.1"))
    if energy:
        connector.live_energy_kwh = energy[1].quantize(Decimal("0.001"))
    connector.live_at = newest[0]
    connector.save(update_fields=["live_power_w", "live_energy_kwh", "live_at"])


def _live_session_begins(charger: Charger, row: Transaction) -> None:
    """A new session on the connector: it shows 0 kWh delivered until its first sample."""
    connector, _ = Connector.objects.select_for_update().get_or_create(
        charger=charger, connector_id=row.connector_id
    )
    if connector.live_at and connector.live_at > row.started_at:
        return  # a start from the charger's offline queue, older than what is shown
    connector.live_energy_kwh = Decimal(0)
    connector.live_at = row.started_at
    connector.save(update_fields=["live_energy_kwh", "live_at"])


def _live_stop(charger: Charger, row: Transaction) -> None:
    """A session ended: the connector shows no power and the session's energy (meterStop minus
    meterStart, as billed) - unless a newer session began there already (a late stop from the
    charger's offline queue)."""
    newer = Transaction.objects.filter(
        charger=charger, connector_id=row.connector_id, started_at__gt=row.started_at
    )
    if newer.exists():
        return
    connector, _ = Connector.objects.select_for_update().get_or_create(
        charger=charger, connector_id=row.connector_id
    )
    connector.live_power_w = Decimal(0)
    connector.live_energy_kwh = row.energy_kwh
    connector.live_at = row.stopped_at
    connector.save(update_fields=["live_power_w", "live_energy_kwh", "live_at"])


@transaction.atomic
def meter_values_record(
    *, charger: Charger, connector_id: int, meter_value: list, transaction_id: int | None = None
) -> list[MeterValue]:
    """Store samples. They move the connector's live figures only for the session running
    there: samples naming a transaction this charger never had (777777, 0, -1), one already
    stopped, or one on another connector are kept (unattached when unknown) with an anomaly and
    never applied. Samples naming no transaction are kept unattached and count for the session
    running on the connector, if any."""
    row = _transaction_for(charger, transaction_id)
    samples = _meter_values_store(charger, row, connector_id, meter_value)
    anomaly = ""
    if transaction_id is not None and row is None:
        anomaly = "meter_values_unknown_transaction"
    elif row is not None and row.stopped_at is not None:
        anomaly = "meter_values_stopped_transaction"
    elif row is not None and row.connector_id != connector_id:
        anomaly = "meter_values_other_connector"
    if anomaly:
        _anomaly(
            charger,
            anomaly,
            row,
            transaction_id=transaction_id,
            connector_id=connector_id,
            samples=len(samples),
        )
    else:
        _live_update(charger, connector_id, samples, row or _open_session(charger, connector_id))
    if row is not None:
        _push_session_event(
            charger,
            row,
            "charging.meter",
            {"transaction_id": row.pk, "connector_id": connector_id, "samples": len(samples)},
        )
    return samples


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


# --- central-system-initiated -------------------------------------------------------------------


def _validate_operation_payload(operation: str, payload: dict) -> None:
    try:
        _validate_payload(Call("validation", operation, json.loads(json.dumps(payload))), "1.6")
        getattr(ocpp_call, operation)(**camel_to_snake_case(payload))
    except OCPPError as exc:
        cause = exc.details.get("cause") if isinstance(exc.details, dict) else None
        raise ApplicationError(
            f"Invalid {operation} payload: {cause or exc.description}", field="payload"
        ) from exc
    except TypeError as exc:
        raise ApplicationError(f"Invalid {operation} payload: {exc}", field="payload") from exc


def _check_customer_may(*, user: User, charger: Charger, operation: str, payload: dict) -> None:
    if user.is_staff:
        return
    owns = charger.account_id is not None and charger.account.users.filter(pk=user.pk).exists()
    if not user.is_customer or not owns:
        raise PermissionDenied("Only staff and the charger's owner may operate it.")
    if operation not in CUSTOMER_OPERATIONS:
        raise PermissionDenied(f"Only staff may send {operation}.")
    accounts = user.customer_accounts.all()
    own_tag = IdTag.objects.filter(id_tag__iexact=payload.get("idTag"), account__in=accounts)
    if operation == "RemoteStartTransaction" and not own_tag.exists():
        raise ApplicationError("Start with one of your own tags.", field="payload")
    if operation == "RemoteStopTransaction":
        own = Transaction.objects.filter(
            pk=payload["transactionId"], charger=charger, account__in=accounts
        )
        if not 1 <= payload["transactionId"] <= INT32_MAX or not own.exists():
            raise ApplicationError("That is not one of your sessions.", field="payload")


KEY_MASK = "********"


def command_create(
    *, charger: Charger, operation: str, payload: dict, requested_by: User | None = None
) -> ChargerCommand:
    """Record a command and hand it to the daphne process that holds the charger's socket.

    A charger that is not connected, or whose node died without closing its socket, gets the
    command recorded as ``offline`` straight away."""
    if operation not in OPERATIONS:
        raise ApplicationError(f"Unknown operation {operation}.", field="operation")
    if not isinstance(payload, dict):
        raise ApplicationError("The payload must be a JSON object.", field="payload")
    if operation == "ChangeConfiguration" and payload.get("key") == "AuthorizationKey":
        raise ApplicationError(
            "The AuthorizationKey is changed by the key rotation, which generates the key and "
            "switches to it only when the charger accepts it.",
            field="payload",
        )
    return _command_send(
        charger=charger, operation=operation, payload=payload, requested_by=requested_by
    )


def _command_send(
    *,
    charger: Charger,
    operation: str,
    payload: dict,
    requested_by: User | None,
    new_key: str = "",
) -> ChargerCommand:
    payload = dict(payload)
    if operation == "ReserveNow":
        payload["reservationId"] = 0  # the server allocates reservation ids; set below
    _validate_operation_payload(operation, payload)
    if requested_by is not None:
        _check_customer_may(
            user=requested_by, charger=charger, operation=operation, payload=payload
        )
    if charger.registration == Registration.REJECTED:
        raise Conflict("The charger is rejected; the central system sends it nothing.")
    if charger.registration == Registration.PENDING and operation in NOT_WHILE_PENDING:
        raise Conflict(f"{operation} is not allowed while the charger is Pending.")
    with transaction.atomic():
        if operation == "ReserveNow":
            payload["reservationId"] = _reservation_open(charger, payload).pk
        command = ChargerCommand.objects.create(
            charger=charger,
            operation=operation,
            payload=payload | {"value": KEY_MASK} if new_key else payload,
            requested_by=requested_by,
            new_key_digest=keys.key_digest(new_key) if new_key else "",
        )
        charger = Charger.objects.get(pk=charger.pk)
        if not charger.connected or not charger.channel_name:
            _command_finish(command, CommandStatus.OFFLINE, description="Charger not connected.")
            return command
        if _owner_is_dead(charger.channel_name):
            chargers_release_dead_nodes()
            _command_finish(
                command,
                CommandStatus.OFFLINE,
                description="Charger not connected (the server holding its socket died).",
            )
            return command
        channel = charger.channel_name
        transaction.on_commit(lambda: _dispatch(channel, command.pk, new_key))
    return command


@transaction.atomic
def charger_key_rotate(*, charger: Charger, requested_by: User | None = None) -> ChargerCommand:
    """Give a connected charger a new generated key, as OCPP-J 1.6 (6.2.2) asks: ChangeConfiguration
    of AuthorizationKey with 40 hexadecimal characters. The stored key changes only when the
    charger answers Accepted; Rejected, NotSupported, no answer or an offline charger keep the
    old key. The new key is never stored or shown: it travels once to the charger through the
    channel layer, and the command's payload and the frame log hold a mask."""
    if not charger.password_hash:
        raise ApplicationError(
            "The charger has no key yet: set its password first.", field="password"
        )
    new_key = keys.key_new()
    return _command_send(
        charger=charger,
        operation="ChangeConfiguration",
        payload={"key": "AuthorizationKey", "value": new_key},
        requested_by=requested_by,
        new_key=new_key,
    )


def _dispatch(channel: str, command_id: int, secret: str = "") -> None:
    event = {"type": "ocpp.command", "command_id": command_id}
    if secret:
        event["secret"] = secret
    async_to_sync(get_channel_layer().send)(channel, event)


def _reservation_open(charger: Charger, payload: dict) -> Reservation:
    expires_at = parse_ocpp_time(payload.get("expiryDate"))
    if expires_at is None:
        raise ApplicationError("expiryDate must be a date-time.", field="payload")
    return Reservation.objects.create(
        charger=charger,
        connector_id=payload["connectorId"],
        id_tag=payload["idTag"],
        parent_id_tag=payload.get("parentIdTag") or "",
        expires_at=expires_at,
    )


def _command_finish(
    command: ChargerCommand,
    status: str,
    *,
    response: dict | None = None,
    code: str = "",
    description: str = "",
) -> ChargerCommand:
    command.status = status
    command.response = response
    command.error_code = code[:40]
    command.error_description = description
    command.completed_at = timezone.now()
    command.save(
        update_fields=["status", "response", "error_code", "error_description", "completed_at"]
    )
    if command.operation == "ReserveNow" and status != CommandStatus.ACCEPTED:
        Reservation.objects.filter(pk=command.payload.get("reservationId")).update(
            status=ReservationStatus.REJECTED
        )
    return command


@transaction.atomic
def command_complete(
    *,
    command_id: int,
    status: str,
    response: dict | None = None,
    code: str = "",
    description: str = "",
) -> ChargerCommand | None:
    """Store a command's outcome. ``status`` accepted is refined to rejected when the charger's
    answer says so; an outcome already stored (a timeout that raced an answer) stays."""
    command = (
        ChargerCommand.objects.select_for_update()
        .select_related("charger")
        .filter(pk=command_id)
        .first()
    )
    if command is None or command.is_done:
        return command
    refused = response and response.get("status", "Accepted") not in ACCEPTED_ANSWERS
    if status == CommandStatus.ACCEPTED and refused:
        status = CommandStatus.REJECTED
    _command_finish(command, status, response=response, code=code, description=description)
    if status == CommandStatus.ACCEPTED:
        _APPLY.get(command.operation, lambda command, response: None)(command, response or {})
    return command


def command_expire(*, command: ChargerCommand) -> ChargerCommand:
    """The API stopped waiting and the consumer never reported (its process died)."""
    return command_complete(
        command_id=command.pk,
        status=CommandStatus.TIMEOUT,
        description="No outcome reported within the command timeout.",
    )


def _apply_reserve(command: ChargerCommand, response: dict) -> None:
    Reservation.objects.filter(pk=command.payload["reservationId"]).update(
        status=ReservationStatus.ACCEPTED
    )


def _apply_cancel_reservation(command: ChargerCommand, response: dict) -> None:
    Reservation.objects.filter(pk=command.payload["reservationId"], charger=command.charger).update(
        status=ReservationStatus.CANCELLED
    )


def _apply_set_profile(command: ChargerCommand, response: dict) -> None:
    profile = command.payload["csChargingProfiles"]
    ChargingProfile.objects.update_or_create(
        charger=command.charger,
        profile_id=profile["chargingProfileId"],
        defaults={
            "connector_id": command.payload["connectorId"],
            "stack_level": profile["stackLevel"],
            "purpose": profile["chargingProfilePurpose"],
            "kind": profile["chargingProfileKind"],
            "profile": profile,
        },
    )


def _apply_clear_profile(command: ChargerCommand, response: dict) -> None:
    payload = command.payload
    profiles = ChargingProfile.objects.filter(charger=command.charger)
    if "id" in payload:
        profiles = profiles.filter(profile_id=payload["id"])
    if "connectorId" in payload:
        profiles = profiles.filter(connector_id=payload["connectorId"])
    if "chargingProfilePurpose" in payload:
        profiles = profiles.filter(purpose=payload["chargingProfilePurpose"])
    if "stackLevel" in payload:
        profiles = profiles.filter(stack_level=payload["stackLevel"])
    profiles.delete()


def _apply_local_list(command: ChargerCommand, response: dict) -> None:
    payload = command.payload
    charger = command.charger
    if payload["updateType"] == "Full":
        LocalAuthListEntry.objects.filter(charger=charger).delete()
    for entry in payload.get("localAuthorizationList") or []:
        info = entry.get("idTagInfo")
        if info is None:
            LocalAuthListEntry.objects.filter(charger=charger, id_tag=entry["idTag"]).delete()
            continue
        LocalAuthListEntry.objects.update_or_create(
            charger=charger,
            id_tag=entry["idTag"],
            defaults={
                "status": info["status"],
                "expires_at": parse_ocpp_time(info.get("expiryDate")),
                "parent_id_tag": info.get("parentIdTag") or "",
            },
        )
    Charger.objects.filter(pk=charger.pk).update(local_list_version=payload["listVersion"])


def _apply_configuration(command: ChargerCommand, response: dict) -> None:
    if command.new_key_digest and command.payload.get("key") == "AuthorizationKey":
        Charger.objects.filter(pk=command.charger_id).update(password_hash=command.new_key_digest)


def _apply_list_version(command: ChargerCommand, response: dict) -> None:
    Charger.objects.filter(pk=command.charger_id).update(
        local_list_version=response.get("listVersion", 0)
    )


_APPLY = {
    "ReserveNow": _apply_reserve,
    "CancelReservation": _apply_cancel_reservation,
    "SetChargingProfile": _apply_set_profile,
    "ClearChargingProfile": _apply_clear_profile,
    "SendLocalList": _apply_local_list,
    "GetLocalListVersion": _apply_list_version,
    "ChangeConfiguration": _apply_configuration,
}


# --- tags ---------------------------------------------------------------------------------------


ID_TOKEN_MAX = 20  # OCPP 1.6 IdToken: CiString20Type


def id_token_validate(value: str, *, field: str = "id_tag") -> None:
    """OCPP 1.6 IdToken is a CiString20Type: 1 to 20 printable ASCII characters, compared
    ignoring case. Spaces at either end are refused: no reader sends them; a paste does."""
    if not 1 <= len(value) <= ID_TOKEN_MAX:
        raise ApplicationError(
            f"An id tag (OCPP IdToken, CiString20) has 1 to {ID_TOKEN_MAX} characters.",
            field=field,
        )
    if not _printable_ascii(value):
        raise ApplicationError(
            "An id tag (OCPP IdToken, CiString20) is printable ASCII only.", field=field
        )
    if value != value.strip():
        raise ApplicationError("An id tag has no spaces at either end.", field=field)


def _id_tag_exists(tag: IdTag) -> Conflict:
    return Conflict(
        f"Id tag {tag.id_tag} already exists (id tags are compared ignoring case).",
        field="id_tag",
        extra={"existing_id": tag.pk},
    )


def _id_tag_parent(parent_id_tag: str | None, *, tag: IdTag | None = None) -> IdTag | None:
    """The parent tag named ``parent_id_tag`` (ignoring case), or None for no parent. It must
    be registered, and a tag may not end up its own ancestor."""
    if not parent_id_tag:
        return None
    parent = IdTag.objects.filter(id_tag__iexact=parent_id_tag).first()
    if parent is None:
        raise ApplicationError(
            f"No id tag {parent_id_tag}: register the parent tag first.", field="parent_id_tag"
        )
    ancestor, seen = parent, set()
    while tag is not None and ancestor is not None and ancestor.pk not in seen:
        if ancestor.pk == tag.pk:
            raise ApplicationError(
                "A tag cannot be its own parent, directly or through other tags.",
                field="parent_id_tag",
            )
        seen.add(ancestor.pk)
        ancestor = ancestor.parent
    return parent


def _max_concurrent_validate(value: int) -> None:
    if not 0 <= value <= INT32_MAX:
        raise ApplicationError(
            f"max_concurrent_transactions is 0 (no limit) to {INT32_MAX}.",
            field="max_concurrent_transactions",
        )


@transaction.atomic
def id_tag_create(
    *,
    id_tag: str,
    account: CustomerAccount | None = None,
    parent_id_tag: str | None = None,
    expires_at: datetime | None = None,
    blocked: bool = False,
    max_concurrent_transactions: int = 1,
) -> IdTag:
    """A new tag. The same value in any case, or a replayed request, is a Conflict naming the
    stored tag: a retry never changes it."""
    id_token_validate(id_tag)
    existing = IdTag.objects.filter(id_tag__iexact=id_tag).first()
    if existing:
        raise _id_tag_exists(existing)
    _max_concurrent_validate(max_concurrent_transactions)
    tag = IdTag(
        id_tag=id_tag,
        account=account,
        parent=_id_tag_parent(parent_id_tag),
        expires_at=expires_at,
        blocked=blocked,
        max_concurrent_transactions=max_concurrent_transactions,
    )
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:  # the same tag raced this one
        raise _id_tag_exists(IdTag.objects.get(id_tag__iexact=id_tag)) from None
    return tag


ID_TAG_CHANGES = {
    "account",
    "parent_id_tag",
    "expires_at",
    "blocked",
    "max_concurrent_transactions",
}


@transaction.atomic
def id_tag_update(*, tag: IdTag, **changes) -> IdTag:
    """Staff change a tag's owner, parent, expiry, blocking or limit (``ID_TAG_CHANGES``). The
    tag's value never changes: sessions and chargers' local lists hold it. Chargers learn at
    their next Authorize; a charger's local list or cache still holds what it was sent."""
    if unknown := set(changes) - ID_TAG_CHANGES:
        raise TypeError(f"id_tag_update does not change {sorted(unknown)}")
    tag = IdTag.objects.select_for_update().get(pk=tag.pk)
    if "parent_id_tag" in changes:
        tag.parent = _id_tag_parent(changes.pop("parent_id_tag"), tag=tag)
    if "max_concurrent_transactions" in changes:
        _max_concurrent_validate(changes["max_concurrent_transactions"])
    for field, value in changes.items():
        setattr(tag, field, value)
    tag.save()
    return tag


@transaction.atomic
def charger_set_password(*, charger: Charger, password: str) -> Charger:
    """Set (or with "" remove) the HTTP Basic password; only its hash is stored."""
    if password:
        charger_password_validate(password)
    charger.set_password(password)
    charger.save(update_fields=["password_hash"])
    return charger
