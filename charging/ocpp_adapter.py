"""The one place the charging app uses parts of the ``ocpp`` library that are not its public API.

The library (pinned in requirements/base.txt) gives a central system ``ChargePoint.route_message``
and ``ChargePoint.call``, but ``CentralSystem`` answers frames the library would drop or word
differently (see ``ocpp_handlers``), so it parses frames itself and then needs two steps the
library keeps private: run a parsed CALL through the routes, and hand a parsed answer to the
``call()`` that waits for it. The command services validate a payload synchronously, and the
library's public ``validate_payload`` is a coroutine around the private synchronous one.

``tests/test_ocpp_adapter.py`` pins the behaviour each function relies on: an upgrade of the
library that changes it fails there, not in production.
"""

import json

from ocpp.messages import Call, CallError, CallResult, _validate_payload

# The version whose private parts this module was written against (requirements/base.txt).
OCPP_LIBRARY_VERSION = "2.1.0"


def call_payload_validate(action: str, payload: dict) -> None:
    """Check a CALL payload for ``action`` against the OCPP 1.6 JSON schema; raises the
    library's ``OCPPError`` (its ``details["cause"]`` says what is wrong). The payload is copied
    through JSON first: the library rewrites the payload of some actions in place."""
    _validate_payload(Call("validation", action, json.loads(json.dumps(payload))), "1.6")


async def call_route(charge_point, call: Call) -> None:
    """Run an already parsed and validated CALL through ``charge_point``'s ``@on`` routes and
    send the CALLRESULT (or the CALLERROR a handler raised)."""
    await charge_point._handle_call(call)


def answer_deliver(charge_point, answer: CallResult | CallError) -> None:
    """Give a charger's CALLRESULT/CALLERROR to the ``charge_point.call()`` waiting for it."""
    charge_point._response_queue.put_nowait(answer)
