"""What the central system does the same way for every OCPP-J version: read a frame (answering
one that cannot be read with a CALLERROR), check a CALL against the version's JSON schema with
the version's error codes, limit a connection's rate, and hand answers to the ``call()`` waiting
for them. Each version (``v16``, ``v201``) names its codes and its actions.

A frame that cannot be read still gets a CALLERROR; when its unique id cannot be read the id is
"-1" (the rule OCPP 2.0.1 made explicit, followed for 1.6 too).
"""

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType

from django.conf import settings
from jsonschema.exceptions import best_match
from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import GenericError, NotImplementedError, NotSupportedError
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator
from ocpp.routing import on

from ..frame_log import frame_log
from ..ocpp_adapter import answer_deliver

# Every frame is already in OcppMessage; the library's INFO line per frame on stderr only costs
# time at load. Give this logger a level in LOGGING to see them anyway.
FRAME_LOGGER = logging.getLogger("charging.frames")
if FRAME_LOGGER.level == logging.NOTSET:
    FRAME_LOGGER.setLevel(logging.WARNING)


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


@dataclass(frozen=True)
class ErrorCodes:
    """A version's CALLERROR codes for what can be wrong with a frame, and for each JSON schema
    keyword a payload can fail (``other`` for the rest)."""

    not_rpc: str  # not JSON, not an array, no readable unique id
    bad_message_type: str  # a MessageTypeId that is not 2, 3 or 4
    bad_call: str  # a CALL that is not [2, id, "action", {payload}]
    bad_payload: str  # a CALL whose payload is not an object
    schema: dict[str, str] = field(default_factory=dict)
    other: str = "PropertyConstraintViolation"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_frame(raw: str, codes: ErrorCodes) -> Call | tuple:
    """A Call, or ``(type_id, unique_id, rest)`` for a CALLRESULT/CALLERROR; raises
    CallErrorReply for anything else."""
    try:
        frame = json.loads(raw)
    except ValueError:
        raise CallErrorReply("-1", codes.not_rpc, "Message is not valid JSON") from None
    if not isinstance(frame, list) or len(frame) < 3:
        raise CallErrorReply("-1", codes.not_rpc, "Message is not an OCPP-J array")
    type_id, unique_id = frame[0], frame[1]
    if not isinstance(unique_id, str) or not unique_id or len(unique_id) > 36:
        raise CallErrorReply("-1", codes.not_rpc, "UniqueId must be a string of 1-36")
    if type_id == MessageType.Call and not isinstance(type_id, bool):
        if len(frame) != 4 or not isinstance(frame[2], str):
            raise CallErrorReply(unique_id, codes.bad_call, "A CALL is [2, id, action, {payload}]")
        if not isinstance(frame[3], dict):
            raise CallErrorReply(unique_id, codes.bad_payload, "A CALL's payload is an object")
        return Call(unique_id, frame[2], frame[3])
    if type_id in (MessageType.CallResult, MessageType.CallError) and not isinstance(type_id, bool):
        return (type_id, unique_id, frame[2:])
    raise CallErrorReply(
        unique_id, codes.bad_message_type, f"MessageTypeId {type_id!r} is not valid"
    )


def schema_check(call: Call, version: str, codes: ErrorCodes, *, lenient: set[str]) -> None:
    """Raise the CALLERROR the version gives a payload that fails its schema. ``lenient``:
    actions whose over-long strings are taken (cut when stored) rather than refused."""
    errors = list(get_validator(MessageType.Call, call.action, version).iter_errors(call.payload))
    if call.action in lenient:
        errors = [error for error in errors if error.validator != "maxLength"]
    if not errors:
        return
    error = best_match(errors)
    code = codes.schema.get(error.validator, codes.other)
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


def unique_id_or_dash(raw: str) -> str:
    try:
        frame = json.loads(raw)
        return frame[1] if isinstance(frame[1], str) else "-1"
    except (ValueError, TypeError, IndexError, KeyError):
        return "-1"


class CentralSystemBase:
    """Mixed into a version's ``ChargePoint``. A version sets ``ERROR_CODES``, its
    ``CHARGER_ACTIONS`` (what a charger may send), ``ALL_ACTIONS``, ``TRANSACTION_ACTIONS``
    (never refused for the rate) and implements ``_check_allowed`` and ``_dispatch_call``."""

    ERROR_CODES: ErrorCodes
    CHARGER_ACTIONS: frozenset[str]
    ALL_ACTIONS: frozenset[str]
    TRANSACTION_ACTIONS: frozenset[str]
    CALLS: ModuleType  # the version's ``ocpp`` call module (commands to the charger)
    RESULTS: ModuleType  # and its call_result module (our answers)

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

    @classmethod
    def command_call(cls, operation: str, payload: dict):
        """The version's ``ocpp`` dataclass for a stored command's camelCase payload."""
        return getattr(cls.CALLS, operation)(**camel_to_snake_case(payload))

    @staticmethod
    def answer_payload(result) -> dict:
        return snake_to_camel_case(remove_nones(serialize_as_dict(result)))

    # Heartbeat is the same in both versions: queued, written with the frame log's next batch
    # (services.status says why), answered at once.
    @on("Heartbeat", skip_schema_validation=True)
    async def on_heartbeat(self, **payload):
        frame_log().heartbeat(
            charger_id=self.charger.pk, channel_name=self._connection.channel_name
        )
        return self.RESULTS.Heartbeat(current_time=now_iso())

    async def route_message(self, raw_msg):
        try:
            parsed = parse_frame(raw_msg, self.ERROR_CODES)
            if isinstance(parsed, Call):
                await self._route_call(parsed)
            else:
                await self._route_answer(*parsed)
        except CallErrorReply as reply:
            await self._send(reply.frame())
        except Exception:  # a bug must cost one answer, never the connection
            self.logger.exception("%s: failed on %s", self.id, raw_msg[:500])
            unique_id = unique_id_or_dash(raw_msg)
            await self._send(CallErrorReply(unique_id, "InternalError", "Internal error").frame())

    async def _route_call(self, msg: Call) -> None:
        if not self.bucket.take() and msg.action not in self.TRANSACTION_ACTIONS:
            raise CallErrorReply(msg.unique_id, GenericError.code, "Rate limit exceeded")
        if msg.action not in self.route_map:
            if msg.action in self.CHARGER_ACTIONS or msg.action in self.ALL_ACTIONS:
                raise CallErrorReply(
                    msg.unique_id, NotSupportedError.code, f"{msg.action} is not supported"
                )
            raise CallErrorReply(
                msg.unique_id, NotImplementedError.code, f"Unknown action {msg.action}"
            )
        self._check_allowed(msg)
        await self._dispatch_call(msg)

    async def _route_answer(self, type_id: int, unique_id: str, rest: list) -> None:
        if type_id == MessageType.CallResult:
            answer_deliver(self, CallResult(unique_id, rest[0]))
        else:
            code, description, details = [*rest, "", "", {}][:3]
            answer_deliver(self, CallError(unique_id, code, description, details))
