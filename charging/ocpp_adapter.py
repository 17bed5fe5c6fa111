"""The one place the charging app uses parts of the ``ocpp`` library that are not its public API.

The library (pinned in requirements/base.txt) gives a central system ``ChargePoint.route_message``
and ``ChargePoint.call``, but ``CentralSystem`` answers frames the library would drop or word
differently (see ``ocpp_handlers``), so it parses frames itself and then needs two steps the
library keeps private: run a parsed CALL through the routes, and hand a parsed answer to the
``call()`` that waits for it. The command services validate a payload synchronously, and the
library's public ``validate_payload`` is a coroutine around the private synchronous one.

For 2.0.1, where both directions are validated, ``call_answer_checked`` runs a handler through
the route map itself (the library's ``_handle_call`` skips the answer's check together with the
request's) so that an answer failing its schema never leaves as a CALLRESULT.

``tests/test_ocpp_adapter.py`` pins the behaviour each function relies on: an upgrade of the
library that changes it fails there, not in production.
"""

import json
import logging

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, _validate_payload

log = logging.getLogger(__name__)

# The version whose private parts this module was written against (requirements/base.txt).
OCPP_LIBRARY_VERSION = "2.1.0"


def call_payload_validate(action: str, payload: dict, version: str = "1.6") -> None:
    """Check a CALL payload for ``action`` against the OCPP ``version`` JSON schema; raises the
    library's ``OCPPError`` (its ``details["cause"]`` says what is wrong). The payload is copied
    through JSON first: the library rewrites the payload of some actions in place."""
    _validate_payload(Call("validation", action, json.loads(json.dumps(payload))), version)


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
