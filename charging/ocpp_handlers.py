"""The central system's side of OCPP 1.6J for one connected charger.

The ``ocpp`` library does the framing and routing; this subclass adds what the 1.6 documents
ask of a central system that the library leaves out or words differently:

- CALLERROR codes as OCPP-J 1.6 spells them (FormationViolation, OccurenceConstraintViolation;
  the errata keeps those spellings), and NotImplemented for an unknown action / NotSupported for
  a known one this side does not take (OCPP-J table 7).
- a frame that cannot be read still gets a CALLERROR; when its unique id cannot be read the id is
  "-1" (the rule OCPP 2.0.1 made explicit).
- CALLs other than BootNotification before the charger is accepted get SecurityError (errata 3.8).
- a flood from one connection is answered GenericError without being processed - except for
  StartTransaction, StopTransaction and MeterValues: a charger emptying its offline queue sends
  those back to back, and a CALLERROR would make it retry and finally drop the data. They still
  use up the allowance (one connection has one CALL in flight, so it cannot outrun the server).
- over-long vendor strings in BootNotification are taken and logged, not refused.

Handlers only touch the database through ``charging.services``; none of them calls the charger
(a handler waiting for the charger would wait forever: its answer arrives through this same
consumer). Central-system CALLs run as tasks started by the consumer.
"""

import json
import logging
import time
from datetime import UTC, datetime

from django.conf import settings
from jsonschema.exceptions import best_match
from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import (
    GenericError,
    NotImplementedError,
    NotSupportedError,
    SecurityError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, DataTransferStatus, RegistrationStatus

from . import services
from .db import db_call
from .frame_log import frame_log
from .ocpp_adapter import answer_deliver, call_route

# Actions a charge point sends to a central system in 1.6.
CHARGER_ACTIONS = {
    Action.authorize,
    Action.boot_notification,
    Action.data_transfer,
    Action.diagnostics_status_notification,
    Action.firmware_status_notification,
    Action.heartbeat,
    Action.meter_values,
    Action.start_transaction,
    Action.status_notification,
    Action.stop_transaction,
}


class CallErrorReply(Exception):
    def __init__(self, unique_id: str, code: str, description: str, details: dict | None = None):
        self.unique_id = unique_id
        self.code = code
        self.description = description
        self.details = details or {}

    def frame(self) -> str:
        return json.dumps(
            [MessageType.CallError, self.unique_id, self.code, self.description, self.details],
            separators=(",", ":"),
        )


TRANSACTION_ACTIONS = {Action.start_transaction, Action.stop_transaction, Action.meter_values}

_SCHEMA_ERROR_CODES = {
    "required": "OccurenceConstraintViolation",
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
    "type": "TypeConstraintViolation",
    "additionalProperties": "FormationViolation",
}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_frame(raw: str) -> Call | tuple:
    """A Call, or ``(type_id, unique_id, rest)`` for a CALLRESULT/CALLERROR; raises
    CallErrorReply for anything else."""
    try:
        frame = json.loads(raw)
    except ValueError:
        raise CallErrorReply("-1", "FormationViolation", "Message is not valid JSON") from None
    if not isinstance(frame, list) or len(frame) < 3:
        raise CallErrorReply("-1", "FormationViolation", "Message is not an OCPP-J array")
    type_id, unique_id = frame[0], frame[1]
    if not isinstance(unique_id, str) or not unique_id or len(unique_id) > 36:
        raise CallErrorReply("-1", "FormationViolation", "UniqueId must be a string of 1-36")
    if type_id == MessageType.Call:
        if len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict):
            raise CallErrorReply(
                unique_id, "FormationViolation", "A CALL is [2, id, action, {payload}]"
            )
        return Call(unique_id, frame[2], frame[3])
    if type_id in (MessageType.CallResult, MessageType.CallError) and not isinstance(type_id, bool):
        return (type_id, unique_id, frame[2:])
    raise CallErrorReply(
        unique_id, "PropertyConstraintViolation", f"MessageTypeId {type_id!r} is not valid"
    )


def _validate(call: Call) -> None:
    errors = list(get_validator(MessageType.Call, call.action, "1.6").iter_errors(call.payload))
    if call.action == Action.boot_notification:
        errors = [error for error in errors if error.validator != "maxLength"]
    if not errors:
        return
    error = best_match(errors)
    code = _SCHEMA_ERROR_CODES.get(error.validator, "PropertyConstraintViolation")
    path = ".".join(str(part) for part in error.absolute_path) or "payload"
    raise CallErrorReply(call.unique_id, code, f"{path}: {error.message}"[:500])


class TokenBucket:
    def __init__(self, burst: int, per_second: float):
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.per_second = per_second
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# Every frame is already in OcppMessage; the library's INFO line per frame on stderr only costs
# time at load. Give this logger a level in LOGGING to see them anyway.
FRAME_LOGGER = logging.getLogger("charging.frames")
if FRAME_LOGGER.level == logging.NOTSET:
    FRAME_LOGGER.setLevel(logging.WARNING)


class CentralSystem(ChargePoint):
    """One charger's session. ``connection`` is the consumer (``recv()`` / ``send(text)``)."""

    def __init__(self, charger, connection):
        super().__init__(
            charger.charge_point_id,
            connection,
            response_timeout=settings.CHARGING_COMMAND_TIMEOUT,
            logger=FRAME_LOGGER,
        )
        self.charger = charger
        self.accepted = charger.is_accepted and charger.booted_at is not None
        self.bucket = TokenBucket(
            settings.CHARGING_RATE_LIMIT_BURST, settings.CHARGING_RATE_LIMIT_PER_SECOND
        )

    async def route_message(self, raw_msg):
        try:
            parsed = _parse_frame(raw_msg)
            if isinstance(parsed, Call):
                await self._route_call(parsed)
            else:
                await self._route_answer(*parsed)
        except CallErrorReply as reply:
            await self._send(reply.frame())
        except Exception:  # a bug must cost one answer, never the connection
            self.logger.exception("%s: failed on %s", self.id, raw_msg[:500])
            unique_id = _unique_id_or_dash(raw_msg)
            await self._send(CallErrorReply(unique_id, "InternalError", "Internal error").frame())

    async def _route_call(self, msg: Call) -> None:
        if not self.bucket.take() and msg.action not in TRANSACTION_ACTIONS:
            raise CallErrorReply(msg.unique_id, GenericError.code, "Rate limit exceeded")
        if msg.action not in self.route_map:
            if msg.action in CHARGER_ACTIONS or msg.action in set(Action):
                raise CallErrorReply(
                    msg.unique_id, NotSupportedError.code, f"{msg.action} is not supported"
                )
            raise CallErrorReply(
                msg.unique_id, NotImplementedError.code, f"Unknown action {msg.action}"
            )
        if msg.action != Action.boot_notification and not self.accepted:
            raise CallErrorReply(
                msg.unique_id, SecurityError.code, "Charge point is not accepted; boot first"
            )
        _validate(msg)  # a small payload: cheaper inline than a hop to a thread
        # Validated above with the 1.6 error codes; the library's own pass is skipped per route.
        await call_route(self, msg)

    async def _route_answer(self, type_id: int, unique_id: str, rest: list) -> None:
        if type_id == MessageType.CallResult:
            answer_deliver(self, CallResult(unique_id, rest[0]))
        else:
            code, description, details = [*rest, "", "", {}][:3]
            answer_deliver(self, CallError(unique_id, code, description, details))

    # --- handlers -------------------------------------------------------------------------------

    @on(Action.boot_notification, skip_schema_validation=True)
    async def on_boot_notification(self, **payload):
        charger = await db_call(services.boot_notification_record)(
            charger=self.charger, payload=payload
        )
        self.charger = charger
        self.accepted = charger.is_accepted
        return call_result.BootNotification(
            current_time=_now_iso(),
            interval=settings.CHARGING_HEARTBEAT_INTERVAL,
            status=RegistrationStatus(charger.registration),
        )

    @on(Action.heartbeat, skip_schema_validation=True)
    async def on_heartbeat(self, **payload):
        # Queued, written with the frame log's next batch (services.status says why).
        frame_log().heartbeat(
            charger_id=self.charger.pk, channel_name=self._connection.channel_name
        )
        return call_result.Heartbeat(current_time=_now_iso())

    @on(Action.authorize, skip_schema_validation=True)
    async def on_authorize(self, id_tag, **payload):
        info = await db_call(services.id_tag_info)(id_tag=id_tag)
        return call_result.Authorize(id_tag_info=info)

    @on(Action.start_transaction, skip_schema_validation=True)
    async def on_start_transaction(self, **payload):
        result = await db_call(services.transaction_start)(charger=self.charger, **payload)
        return call_result.StartTransaction(
            transaction_id=result.transaction.pk, id_tag_info=result.id_tag_info
        )

    @on(Action.stop_transaction, skip_schema_validation=True)
    async def on_stop_transaction(self, **payload):
        info = await db_call(services.transaction_stop)(charger=self.charger, **payload)
        return call_result.StopTransaction(id_tag_info=info)

    @on(Action.meter_values, skip_schema_validation=True)
    async def on_meter_values(self, **payload):
        await db_call(services.meter_values_record)(charger=self.charger, **payload)
        return call_result.MeterValues()

    @on(Action.status_notification, skip_schema_validation=True)
    async def on_status_notification(self, **payload):
        await db_call(services.status_notification_record)(charger=self.charger, **payload)
        return call_result.StatusNotification()

    @on(Action.data_transfer, skip_schema_validation=True)
    async def on_data_transfer(self, vendor_id, **payload):
        # No vendor extension is implemented; the frame itself is in the message log.
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @on(Action.diagnostics_status_notification, skip_schema_validation=True)
    async def on_diagnostics_status(self, status, **payload):
        await db_call(services.diagnostics_status_record)(charger_id=self.charger.pk, status=status)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification, skip_schema_validation=True)
    async def on_firmware_status(self, status, **payload):
        await db_call(services.firmware_status_record)(charger_id=self.charger.pk, status=status)
        return call_result.FirmwareStatusNotification()


def _unique_id_or_dash(raw: str) -> str:
    try:
        frame = json.loads(raw)
        return frame[1] if isinstance(frame[1], str) else "-1"
    except (ValueError, TypeError, IndexError, KeyError):
        return "-1"


def command_call_payload(operation: str, payload: dict):
    """The ``ocpp`` dataclass for a stored command's camelCase payload."""
    return getattr(call, operation)(**camel_to_snake_case(payload))


def answer_payload(result) -> dict:
    return snake_to_camel_case(remove_nones(serialize_as_dict(result)))
