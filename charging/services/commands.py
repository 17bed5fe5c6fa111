"""Central-system-initiated operations: a command is recorded, handed to the daphne node that
holds the charger's socket, and completed with the charger's answer (or a timeout)."""

import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import OCPPError
from ocpp.v16 import call as ocpp_call

from accounts.models import User
from config.exceptions import ApplicationError, Conflict

from .. import keys
from ..models import (
    INT32_MAX,
    Charger,
    ChargerCommand,
    CommandStatus,
    IdTag,
    Registration,
    Reservation,
    ReservationStatus,
    Transaction,
)
from ..ocpp_adapter import call_payload_validate
from .command_effects import _APPLY
from .common import parse_ocpp_time
from .connections import _owner_is_dead, chargers_release_dead_nodes

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


def _validate_operation_payload(operation: str, payload: dict) -> None:
    try:
        call_payload_validate(operation, payload)
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


def command_await(*, command: ChargerCommand, timeout: float | None = None) -> ChargerCommand:
    """Wait until the command has an outcome or ``timeout`` seconds pass (bounded, so an API
    request never hangs on a charger that does not answer). The outcome arrives in the command's
    row, written by the consumer holding the socket in another process: polled, with a backoff
    from 20 ms to 250 ms. Returns the command as it stands; one still pending is the caller's
    to expire (``command_expire``)."""
    deadline = time.monotonic() + (timeout or settings.CHARGING_COMMAND_TIMEOUT + 2)
    delay = 0.02
    while not command.is_done and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
        command.refresh_from_db(
            fields=["status", "response", "error_code", "error_description", "completed_at"]
        )
    return command
