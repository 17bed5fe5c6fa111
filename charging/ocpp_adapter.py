"""The one place the charging app uses parts of the ``ocpp`` library that are not its public API.

The library (pinned in requirements/base.txt) gives a central system ``ChargePoint.route_message``
and ``ChargePoint.call``, but ``CentralSystem`` answers frames the library would drop or word
differently (see ``ocpp_handlers``), so it parses frames itself and then needs two steps the
library keeps private: run a parsed CALL through the routes, and hand a parsed answer to the
``call()`` that waits for it. The command services validate a payload synchronously, and the
library's public ``validate_payload`` is a coroutine around the private synchronous one.
``call_payload_errors`` reads the same schemas (the library's ``get_validator``, with the
float parsing the library uses for each action) and lists every violation by its field's path,
where the library's own check stops at the first one and words it as a dump of the payload
(``tests/test_command_rules.py`` pins it).

For 2.0.1, where both directions are validated, ``call_answer_checked`` runs a handler through
the route map itself (the library's ``_handle_call`` skips the answer's check together with the
request's) so that an answer failing its schema never leaves as a CALLRESULT.

``tests/test_ocpp_adapter.py`` pins the behaviour each function relies on: an upgrade of the
library that changes it fails there, not in production.
"""

import json
import logging
from decimal import Decimal

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, MessageType, _validate_payload, get_validator

log = logging.getLogger(__name__)

# The version whose private parts this module was written against (requirements/base.txt).
OCPP_LIBRARY_VERSION = "2.1.0"


def call_payload_validate(action: str, payload: dict, version: str = "1.6") -> None:
    """Check a CALL payload for ``action`` against the OCPP ``version`` JSON schema; raises the
    library's ``OCPPError`` (its ``details["cause"]`` says what is wrong). The payload is copied
    through JSON first: the library rewrites the payload of some actions in place."""
    _validate_payload(Call("validation", action, json.loads(json.dumps(payload))), version)


# A payload of thousands of bad entries is answered with the first ones, not a megabyte of errors.
MAX_REFUSED_FIELDS = 50
# The CALLs whose 1.6 schema the library reads with decimals (its validator cache is keyed by action
# and version only, so these must be asked for exactly as the library asks for them).
_DECIMAL_CALLS_16 = ("SetChargingProfile", "RemoteStartTransaction")
_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a text (string)",
    "object": "an object",
    "array": "a list",
    "boolean": "true or false",
}


def _decimal_as_float(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _path(parts) -> str:
    return "payload" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts
    )


def _rule(error) -> str:
    """A schema violation as the rule a client must keep (never the payload or schema dump)."""
    rule, value = error.validator, error.validator_value
    if rule == "type":
        names = value if isinstance(value, list) else [value]
        return "must be " + " or ".join(_TYPES.get(name, name) for name in names)
    if rule == "enum":
        return "must be one of: " + ", ".join(str(choice) for choice in value)
    if rule == "maxLength":
        return f"is too long (at most {value} characters)"
    if rule == "minLength":
        return f"is too short (at least {value} characters)"
    if rule == "maxItems":
        return f"must have at most {value} items"
    if rule == "minItems":
        return f"must have at least {value} item{'s' if value != 1 else ''}"
    if rule == "minimum":
        exclusive = error.schema.get("exclusiveMinimum") is True
        return f"must be {'>' if exclusive else '≥'} {value:g}"
    if rule == "maximum":
        exclusive = error.schema.get("exclusiveMaximum") is True
        return f"must be {'<' if exclusive else '≤'} {value:g}"
    if rule == "multipleOf":
        return f"must be a multiple of {value}"
    return f"breaks the schema's {rule} rule"


def _shaped(error) -> list[tuple[str, str]]:
    parts = list(error.absolute_path)
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [
            (_path([*parts, name]), "is required")
            for name in error.validator_value
            if name not in present
        ]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        return [
            (_path([*parts, name]), "is not a field of this message")
            for name in error.instance
            if name not in known
        ]
    return [(_path(parts), _rule(error))]


def call_payload_errors(action: str, payload, version: str = "1.6") -> dict[str, list[str]]:
    """Every way a CALL payload for ``action`` breaks the OCPP ``version`` JSON schema, by the
    path of the field (``payload.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0]
    .limit`` -> ``["must be a multiple of 0.1"]``); empty when it is valid. The same schemas
    and float parsing as ``call_payload_validate`` (and the library when it sends the CALL)."""
    decimals = version == "1.6" and action in _DECIMAL_CALLS_16
    parse_float = Decimal if decimals else float
    validator = get_validator(MessageType.Call, action, version, parse_float=parse_float)
    try:
        instance = json.loads(
            json.dumps(payload, default=_decimal_as_float), parse_float=parse_float
        )
    except (TypeError, ValueError) as exc:
        return {"payload": [f"must be a JSON object ({exc})"]}
    errors: dict[str, list[str]] = {}
    for error in validator.iter_errors(instance):
        for path, message in _shaped(error):
            if message not in errors.setdefault(path, []):
                errors[path].append(message)
        if len(errors) >= MAX_REFUSED_FIELDS:
            break
    return errors


def call_payload_fields(action: str, version: str = "1.6") -> tuple[set[str], set[str]]:
    """The top-level fields of ``action``'s CALL payload in ``version``: (all, required)."""
    parse_float = Decimal if version == "1.6" and action in _DECIMAL_CALLS_16 else float
    schema = get_validator(MessageType.Call, action, version, parse_float=parse_float).schema
    return set(schema.get("properties", {})), set(schema.get("required", []))


async def call_route(charge_point, call: Call) -> None:
    """Run an already parsed and validated CALL through ``charge_point``'s ``@on`` routes and
    send the CALLRESULT (or the CALLERROR a handler raised)."""
    await charge_point._handle_call(call)


def answer_deliver(charge_point, answer: CallResult | CallError) -> None:
    """Give a charger's CALLRESULT/CALLERROR to the ``charge_point.call()`` waiting for it."""
    charge_point._response_queue.put_nowait(answer)


async def call_answer_checked(charge_point, call: Call, version: str) -> None:
    """Run an already parsed and validated CALL through ``charge_point``'s ``@on`` handler and
    send its answer once it passes the ``version`` schema: a handler's OCPPError goes out as
    its CALLERROR, any other exception or an answer failing the schema as InternalError."""
    handler = charge_point.route_map[call.action]["_on_action"]
    try:
        result = await handler(**camel_to_snake_case(call.payload))
    except Exception as error:  # an OCPPError keeps its code; anything else is InternalError
        if not isinstance(error, OCPPError):
            log.exception("%s: handler failed on %s", charge_point.id, call.action)
        await charge_point._send(call.create_call_error(error).to_json())
        return
    answer = call.create_call_result(snake_to_camel_case(remove_nones(serialize_as_dict(result))))
    try:
        _validate_payload(answer, version)
    except OCPPError as error:
        log.error("%s: our %s answer failed its schema: %s", charge_point.id, call.action, error)
        await charge_point._send(call.create_call_error(RuntimeError()).to_json())
        return
    await charge_point._send(answer.to_json())
