"""Pins the installed ``ocpp`` library's behaviour that ``charging.ocpp_adapter`` relies on: its
private parts have no promise of stability, so an upgrade that changes them must fail here."""

import asyncio
import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from ocpp.exceptions import OCPPError, SecurityError
from ocpp.messages import Call, CallError, CallResult
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as call_result_201

from charging import ocpp_adapter


class Connection:
    """The library's connection interface (``recv``/``send``), recording what is sent."""

    def __init__(self):
        self.sent: list[str] = []

    async def recv(self):  # never called: the tests route frames themselves
        raise AssertionError("recv")

    async def send(self, text: str) -> None:
        self.sent.append(text)


class Station(ChargePoint):
    @on("Heartbeat", skip_schema_validation=True)
    async def on_heartbeat(self, **payload):
        self.heartbeat_payload = payload
        return call_result.Heartbeat(current_time="2026-12-02T12:00:00Z")

    @on("Authorize", skip_schema_validation=True)
    async def on_authorize(self, id_tag, **payload):
        raise ValueError("a handler's bug")


def test_the_adapter_is_written_for_the_pinned_library_version():
    requirements = Path(__file__).resolve().parents[2] / "requirements" / "base.txt"
    pinned = re.search(r"^ocpp==(\S+)$", requirements.read_text(), re.MULTILINE).group(1)
    assert pinned == ocpp_adapter.OCPP_LIBRARY_VERSION
    assert version("ocpp") == pinned


def test_call_payload_validate_takes_a_valid_payload_and_leaves_it_unchanged():
    payload = {"connectorId": 1, "idTag": "ABC", "chargingProfile": None}
    payload.pop("chargingProfile")
    ocpp_adapter.call_payload_validate("RemoteStartTransaction", payload)
    assert payload == {"connectorId": 1, "idTag": "ABC"}


@pytest.mark.parametrize(
    "action, payload, cause",
    [
        ("RemoteStartTransaction", {"connectorId": 1}, "'idTag' is a required property"),
        ("Reset", {"type": "Soft", "extra": 1}, "Additional properties are not allowed"),
        ("UnlockConnector", {"connectorId": "one"}, "'one' is not of type 'integer'"),
    ],
)
def test_call_payload_validate_raises_ocpp_error_with_a_cause(action, payload, cause):
    with pytest.raises(OCPPError) as raised:
        ocpp_adapter.call_payload_validate(action, payload)
    assert cause in raised.value.details["cause"]


async def test_call_route_runs_the_route_with_snake_case_kwargs_and_sends_the_result():
    connection = Connection()
    station = Station("CP-1", connection)
    await ocpp_adapter.call_route(station, Call("u1", "Heartbeat", {"someKey": 1}))
    assert station.heartbeat_payload == {"some_key": 1}
    assert json.loads(connection.sent[0]) == [3, "u1", {"currentTime": "2026-12-02T12:00:00Z"}]


async def test_call_route_answers_a_failing_handler_with_a_callerror():
    connection = Connection()
    station = Station("CP-1", connection)
    await ocpp_adapter.call_route(station, Call("u2", "Authorize", {"idTag": "ABC"}))
    answer = json.loads(connection.sent[0])
    assert answer[:2] == [4, "u2"]
    assert answer[2] == "InternalError"


async def _call_waiting() -> tuple[Station, asyncio.Task, str]:
    """A ClearCache sent by ``call()``, which now waits for its answer; and the CALL's id."""
    connection = Connection()
    station = Station("CP-1", connection, response_timeout=5)
    waiting = asyncio.create_task(station.call(call.ClearCache(), suppress=False))
    while not connection.sent:
        await asyncio.sleep(0)
    return station, waiting, json.loads(connection.sent[0])[1]


async def test_answer_deliver_hands_the_answer_to_the_waiting_call():
    station, waiting, unique_id = await _call_waiting()
    ocpp_adapter.answer_deliver(station, CallResult(unique_id, {"status": "Accepted"}))
    assert (await waiting).status == "Accepted"


async def test_answer_deliver_of_a_callerror_raises_in_the_waiting_call():
    station, waiting, unique_id = await _call_waiting()
    ocpp_adapter.answer_deliver(station, CallError(unique_id, "NotSupported", "no cache", {}))
    with pytest.raises(OCPPError) as raised:
        await waiting
    assert raised.value.code == "NotSupported"


class Station201(ChargePoint201):
    """Handlers giving a valid answer, one failing its 2.0.1 schema, and one raising."""

    @on("Heartbeat", skip_schema_validation=True)
    async def on_heartbeat(self, **payload):
        return call_result_201.Heartbeat(current_time="2026-12-03T12:00:00Z")

    @on("StatusNotification", skip_schema_validation=True)
    async def on_status(self, **payload):
        return call_result_201.Heartbeat(current_time="not used")  # wrong answer for the action

    @on("Authorize", skip_schema_validation=True)
    async def on_authorize(self, **payload):
        raise SecurityError("refused")


async def test_call_answer_checked_sends_an_answer_that_passes_its_schema():
    connection = Connection()
    station = Station201("CS-1", connection)
    await ocpp_adapter.call_answer_checked(station, Call("h", "Heartbeat", {}), "2.0.1")
    assert json.loads(connection.sent[0]) == [3, "h", {"currentTime": "2026-12-03T12:00:00Z"}]


async def test_call_answer_checked_never_sends_an_answer_failing_its_schema():
    connection = Connection()
    station = Station201("CS-1", connection)
    await ocpp_adapter.call_answer_checked(station, Call("s", "StatusNotification", {}), "2.0.1")
    assert json.loads(connection.sent[0])[:3] == [4, "s", "InternalError"]


async def test_call_answer_checked_sends_a_handlers_ocpp_error_with_its_code():
    connection = Connection()
    station = Station201("CS-1", connection)
    await ocpp_adapter.call_answer_checked(station, Call("a", "Authorize", {}), "2.0.1")
    assert json.loads(connection.sent[0])[:3] == [4, "a", "SecurityError"]
