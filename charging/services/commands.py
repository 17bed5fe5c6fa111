"""Central-system-initiated operations: a command is recorded, handed to the daphne node that
holds the charger's socket, and completed with the charger's answer (or a timeout)."""

import json
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from ocpp.charge_point import camel_to_snake_case
from ocpp.v16 import call as ocpp_call
from ocpp.v201 import call as ocpp_call_201

from accounts.models import User
from config.exceptions import ApplicationError, Conflict, InvalidInput

from .. import keys
from ..models import (
    INT32_MAX,
    Charger,
    ChargerCommand,
    CommandStatus,
    IdTag,
    OcppVersion,
    Registration,
    Reservation,
    ReservationStatus,
    Transaction,
)
from ..ocpp_adapter import call_payload_errors
from .command_effects import _APPLY, _APPLY_201
from .command_rules import command_payload_check
from .command_versions import (
    OPERATIONS_16,
    SERVER_IDS_201,
    InvalidPayload,
    operation_for_version,
)
from .common import parse_ocpp_time
from .connections import _owner_is_dead, chargers_release_dead_nodes

OPERATIONS = OPERATIONS_16
CUSTOMER_OPERATIONS = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "UnlockConnector",
    "RequestStartTransaction",
    "RequestStopTransaction",
)
NOT_WHILE_PENDING = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "RequestStartTransaction",
    "RequestStopTransaction",
)
# A charger's answer ``status`` that means it did (or scheduled) what was asked.
ACCEPTED_ANSWERS = {"Accepted", "Unlocked", "Scheduled"}


def _validate_operation_payload(charger: Charger, operation: str, payload: dict) -> None:
    """The payload against its version's schema; InvalidPayload names every field that breaks
    it by its path."""
    version = charger.ocpp_version
    errors = call_payload_errors(operation, payload, version)
    if errors:
        raise InvalidPayload(operation, errors)
    calls = ocpp_call if version == OcppVersion.V16 else ocpp_call_201
    try:
        getattr(calls, operation)(**camel_to_snake_case(payload))
    except TypeError as exc:
        raise InvalidPayload(operation, {"payload": [str(exc)]}) from exc


def _check_rules(charger: Charger, operation: str, payload: dict) -> None:
    """The rules the schema lacks (``command_rules``), once the caller may send the command:
    they look at stored tags and transactions, which a customer may not probe."""
    try:
        command_payload_check(charger=charger, operation=operation, payload=payload)
    except InvalidInput as exc:
        raise InvalidPayload(operation, exc.errors) from exc


def _check_customer_may(*, user: User, charger: Charger, operation: str, payload: dict) -> None:
    if user.is_staff:
        return
    owns = charger.account_id is not None and charger.account.users.filter(pk=user.pk).exists()
    if not user.is_customer or not owns:
        raise PermissionDenied("Only staff and the charger's owner may operate it.")
    if operation not in CUSTOMER_OPERATIONS:
        raise PermissionDenied(f"Only staff may send {operation}.")
    accounts = user.customer_accounts.all()
    if operation in ("RemoteStartTransaction", "RequestStartTransaction"):
        value = payload.get("idTag") or (payload.get("idToken") or {}).get("idToken")
        if not IdTag.objects.filter(id_tag__iexact=value, account__in=accounts).exists():
            field = "payload.idTag" if "idTag" in payload else "payload.idToken.idToken"
            raise ApplicationError("Start with one of your own tags.", field=field)
    own = Transaction.objects.filter(charger=charger, account__in=accounts)
    if operation == "RemoteStopTransaction" and not (
        1 <= payload["transactionId"] <= INT32_MAX and own.filter(pk=payload["transactionId"])
    ):
        raise ApplicationError("That is not one of your sessions.", field="payload.transactionId")
    if operation == "RequestStopTransaction" and not own.filter(
        transaction_uid=payload["transactionId"]
    ):
        raise ApplicationError("That is not one of your sessions.", field="payload.transactionId")


KEY_MASK = "********"


def command_create(
    *, charger: Charger, operation: str, payload: dict, requested_by: User | None = None
) -> ChargerCommand:
    """Record a command and hand it to the daphne process that holds the charger's socket.

    A charger that is not connected, or whose node died without closing its socket, gets the
    command recorded as ``offline`` straight away."""
    if not isinstance(payload, dict):
        raise ApplicationError("The payload must be a JSON object.", field="payload")
    operation, payload = operation_for_version(charger, operation, payload)
    if _sets_authorization_key(operation, payload):
        raise ApplicationError(
            "The AuthorizationKey is changed by the key rotation, which generates the key and "
            "switches to it only when the charger accepts it.",
            field="payload",
        )
    return _command_send(
        charger=charger, operation=operation, payload=payload, requested_by=requested_by
    )


def _sets_authorization_key(operation: str, payload: dict) -> bool:
    if operation == "ChangeConfiguration":
        return payload.get("key") == "AuthorizationKey"
    if operation == "SetVariables":  # before the schema check: any JSON may be here
        items = payload.get("setVariableData")
        return isinstance(items, list) and any(
            isinstance(item, dict)
            and isinstance(item.get("variable"), dict)
            and item["variable"].get("name") == KEY_VARIABLE
            for item in items
        )
    return False


def _command_send(
    *,
    charger: Charger,
    operation: str,
    payload: dict,
    requested_by: User | None,
    new_key: str = "",
) -> ChargerCommand:
    payload = dict(payload)
    version = charger.ocpp_version
    server_id = SERVER_IDS_201.get(operation) if version == OcppVersion.V201 else None
    if operation == "ReserveNow":
        server_id = "reservationId" if version == OcppVersion.V16 else "id"
    if server_id:
        payload[server_id] = 0  # the server allocates these ids; set below
    _validate_operation_payload(charger, operation, payload)
    if requested_by is not None:
        _check_customer_may(
            user=requested_by, charger=charger, operation=operation, payload=payload
        )
    _check_rules(charger, operation, payload)
    if charger.registration == Registration.REJECTED:
        raise Conflict("The charger is rejected; the central system sends it nothing.")
    if charger.registration == Registration.PENDING and operation in NOT_WHILE_PENDING:
        raise Conflict(f"{operation} is not allowed while the charger is Pending.")
    with transaction.atomic():
        if operation == "ReserveNow":
            payload[server_id] = _reservation_open(charger, payload).pk
        command = ChargerCommand.objects.create(
            charger=charger,
            operation=operation,
            payload=_masked(payload, new_key) if new_key else payload,
            requested_by=requested_by,
            new_key_digest=keys.key_digest(new_key) if new_key else "",
        )
        if server_id and operation != "ReserveNow":  # unique per command: its own id
            command.payload[server_id] = payload[server_id] = command.pk
            command.save(update_fields=["payload"])
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
    if charger.ocpp_version == OcppVersion.V201:  # the same key, as SecurityCtrlr's variable
        operation, payload = "SetVariables", _key_variable(new_key)
    else:
        operation, payload = "ChangeConfiguration", {"key": "AuthorizationKey", "value": new_key}
    return _command_send(
        charger=charger,
        operation=operation,
        payload=payload,
        requested_by=requested_by,
        new_key=new_key,
    )


KEY_VARIABLE = "BasicAuthPassword"  # OCPP 2.0.1 SecurityCtrlr: the security profile 1/2 password


def _key_variable(key: str) -> dict:
    return {
        "setVariableData": [
            {
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": KEY_VARIABLE},
                "attributeValue": key,
            }
        ]
    }


def _masked(payload: dict, key: str) -> dict:
    """The payload as stored and logged: the key replaced by the mask (the consumer puts the
    key back, from the channel-layer event, just before sending)."""
    return json.loads(json.dumps(payload).replace(key, KEY_MASK))


def _dispatch(channel: str, command_id: int, secret: str = "") -> None:
    event = {"type": "ocpp.command", "command_id": command_id}
    if secret:
        event["secret"] = secret
    async_to_sync(get_channel_layer().send)(channel, event)


def _reservation_open(charger: Charger, payload: dict) -> Reservation:
    if "idToken" in payload:  # 2.0.1
        fields = {
            "connector_id": payload.get("evseId") or 0,
            "id_tag": payload["idToken"]["idToken"],
            "parent_id_tag": (payload.get("groupIdToken") or {}).get("idToken") or "",
            "expires_at": parse_ocpp_time(payload.get("expiryDateTime")),
        }
    else:
        fields = {
            "connector_id": payload["connectorId"],
            "id_tag": payload["idTag"],
            "parent_id_tag": payload.get("parentIdTag") or "",
            "expires_at": parse_ocpp_time(payload.get("expiryDate")),
        }
    return Reservation.objects.create(charger=charger, **fields)


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
        reservation = command.payload.get("reservationId", command.payload.get("id"))
        Reservation.objects.filter(pk=reservation, charger_id=command.charger_id).update(
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
        effects = _APPLY_201 if command.charger.ocpp_version == OcppVersion.V201 else _APPLY
        effects.get(command.operation, lambda command, response: None)(command, response or {})
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
