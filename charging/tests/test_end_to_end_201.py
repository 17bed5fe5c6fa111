"""OCPP 2.0.1 end to end: a real daphne (Redis channel layer) and a station played by the
``ocpp`` library's ``v201.ChargePoint`` over a real websocket. The station validates every
request it gets against the 2.0.1 schemas (the library's own check), so an operation the CSMS
sends malformed fails here. Commands go through the API from this process, through Redis."""

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from ocpp.v201 import ChargePoint, call
from ocpp.v201 import call_result as result
from websockets.asyncio.client import connect

from accounts.tests.factories import StaffFactory
from charging.models import (
    Charger,
    ChargingProfile,
    CommandStatus,
    DeviceModelVariable,
    OcppVersion,
    Reservation,
    ReservationStatus,
    Transaction,
)

from .conftest import eventually
from .factories import CHARGER_PASSWORD, ChargerFactory, IdTagFactory
from .test_end_to_end import _post_and_close

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
db = database_sync_to_async


def _now(minutes: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


TOKEN = {"idToken": "CARD1", "type": "ISO14443"}
PROFILE = {
    "id": 7,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": [
        {
            "id": 1,
            "startSchedule": "2026-12-03T00:00:00Z",
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}],
        }
    ],
}
VARIABLE = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}

# Every 2.0.1 operation, its payload, and what the station answers.
OPERATIONS = [
    ("RequestStartTransaction", {"idToken": TOKEN, "evseId": 1}, {"status": "Accepted"}),
    ("RequestStopTransaction", {"transactionId": "tx-e2e"}, {"status": "Accepted"}),
    ("Reset", {"type": "OnIdle"}, {"status": "Accepted"}),
    ("UnlockConnector", {"evseId": 1, "connectorId": 1}, {"status": "Unlocked"}),
    (
        "ChangeAvailability",
        {"operationalStatus": "Inoperative", "evse": {"id": 1}},
        {"status": "Accepted"},
    ),
    (
        "GetVariables",
        {"getVariableData": [VARIABLE]},
        {
            "getVariableResult": [
                VARIABLE | {"attributeStatus": "Accepted", "attributeValue": "300"}
            ]
        },
    ),
    (
        "SetVariables",
        {"setVariableData": [VARIABLE | {"attributeValue": "120"}]},
        {"setVariableResult": [VARIABLE | {"attributeStatus": "Accepted"}]},
    ),
    ("GetBaseReport", {"reportBase": "FullInventory"}, {"status": "Accepted"}),
    (
        "TriggerMessage",
        {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
        {"status": "Accepted"},
    ),
    ("ClearCache", {}, {"status": "Accepted"}),
    ("SetChargingProfile", {"evseId": 1, "chargingProfile": PROFILE}, {"status": "Accepted"}),
    (
        "GetChargingProfiles",
        {"chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}},
        {"status": "Accepted"},
    ),
    ("GetCompositeSchedule", {"duration": 3600, "evseId": 1}, {"status": "Accepted"}),
    ("ClearChargingProfile", {"chargingProfileId": 7}, {"status": "Accepted"}),
    ("GetTransactionStatus", {}, {"messagesInQueue": False}),
    (
        "SendLocalList",
        {
            "versionNumber": 4,
            "updateType": "Full",
            "localAuthorizationList": [{"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}}],
        },
        {"status": "Accepted"},
    ),
    ("GetLocalListVersion", {}, {"versionNumber": 4}),
    (
        "ReserveNow",
        {"expiryDateTime": _now(60), "idToken": TOKEN, "evseId": 1},
        {"status": "Accepted"},
    ),
    ("CancelReservation", {"reservationId": None}, {"status": "Accepted"}),
    (
        "UpdateFirmware",
        {"firmware": {"location": "https://fw.example.com/2.bin", "retrieveDateTime": _now()}},
        {"status": "Accepted"},
    ),
    (
        "GetLog",
        {"logType": "DiagnosticsLog", "log": {"remoteLocation": "https://logs.example.com/"}},
        {"status": "Accepted"},
    ),
    ("DataTransfer", {"vendorId": "com.example"}, {"status": "Accepted"}),
]


class Station(ChargePoint):
    """A 2.0.1 station that answers each operation as ``OPERATIONS`` says, after the library
    checked the request against its schema."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict]] = []
        answers = {operation: answer for operation, _, answer in OPERATIONS}
        for operation, answer in answers.items():
            self.route_map[operation] = {
                "_on_action": self._answerer(operation, answer),
                "_skip_schema_validation": False,
            }

    def _answerer(self, operation: str, answer: dict):
        from ocpp.charge_point import camel_to_snake_case

        async def handle(**payload):
            self.received.append((operation, payload))
            return getattr(result, operation)(**camel_to_snake_case(answer))

        return handle


async def _open(url: str, charge_point_id: str, subprotocols=("ocpp2.0.1",)):
    token = base64.b64encode(f"{charge_point_id}:{CHARGER_PASSWORD}".encode()).decode()
    socket_ = await connect(
        f"{url}/{charge_point_id}",
        subprotocols=list(subprotocols),
        additional_headers={"Authorization": f"Basic {token}"},
    )
    station = Station(charge_point_id, socket_, response_timeout=10)
    return socket_, station, asyncio.create_task(station.start())


@pytest.fixture
def daphne(start_daphne):
    return f"{start_daphne().ws_url}/ocpp"


def _energy(wh: int, context: str) -> list:
    sample = {"value": wh, "context": context, "measurand": "Energy.Active.Import.Register"}
    return [{"timestamp": _now(), "sampledValue": [sample]}]


async def test_a_2_0_1_station_runs_a_whole_session_over_a_real_websocket(daphne):
    charger = await db(ChargerFactory)()
    await db(IdTagFactory)(id_tag="CARD1")
    socket_, station, runner = await _open(daphne, charger.charge_point_id)
    assert socket_.subprotocol == "ocpp2.0.1"
    try:
        boot = await station.call(
            call.BootNotification(
                charging_station={"model": "Wallbox 22", "vendor_name": "Acme"}, reason="PowerUp"
            )
        )
        assert boot.status == "Accepted"
        authorized = await station.call(call.Authorize(id_token=TOKEN))
        assert authorized.id_token_info["status"] == "Accepted"

        def event(kind, seq, trigger, meter, **extra):
            return call.TransactionEvent(
                event_type=kind,
                timestamp=_now(),
                trigger_reason=trigger,
                seq_no=seq,
                transaction_info={"transaction_id": "tx-e2e"} | extra.pop("info", {}),
                meter_value=meter,
                **extra,
            )

        started = event(
            "Started",
            0,
            "Authorized",
            _energy(1000, "Transaction.Begin"),
            id_token=TOKEN,
            evse={"id": 1, "connector_id": 1},
        )
        assert (await station.call(started)).id_token_info["status"] == "Accepted"
        assert await station.call(started)  # a retry: answered, applied once
        await station.call(
            event("Updated", 1, "MeterValuePeriodic", _energy(2500, "Sample.Periodic"))
        )
        await station.call(
            event(
                "Ended",
                2,
                "StopAuthorized",
                _energy(4200, "Transaction.End"),
                info={"stopped_reason": "Local"},
            )
        )
    finally:
        runner.cancel()
        await socket_.close()
    row = await db(Transaction.objects.get)(charger=charger)
    assert (row.transaction_uid, row.energy_kwh, row.stop_reason) == (
        "tx-e2e",
        Decimal("3.200"),
        "Local",
    )
    stored = await eventually(lambda: Charger.objects.get(pk=charger.pk), lambda c: not c.connected)
    assert stored.ocpp_version == OcppVersion.V201 and not stored.connected


async def test_every_2_0_1_operation_goes_through_the_api_to_the_station(daphne, api):
    staff = await db(StaffFactory)()
    client = await db(api.as_user)(staff)
    charger = await db(ChargerFactory)()
    socket_, station, runner = await _open(daphne, charger.charge_point_id)
    await station.call(
        call.BootNotification(charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp")
    )

    async def send(operation, payload):
        url = f"/api/v1/chargers/{charger.pk}/commands/{operation}"
        response = await asyncio.to_thread(_post_and_close, client, url, payload, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    try:
        reservation = None
        for operation, payload, _ in OPERATIONS:
            if operation == "CancelReservation":
                payload = {"reservationId": reservation}
            answer = await send(operation, payload)
            assert answer["status"] == CommandStatus.ACCEPTED, (operation, answer)
            if operation == "ReserveNow":
                reservation = answer["payload"]["id"]
        assert [name for name, _ in station.received] == [name for name, _, _ in OPERATIONS]
        # The admin's, the portal's and other apps' 1.6 payloads go out as their 2.0.1 form.
        station.received.clear()
        assert (await send("Reset", {"type": "Hard"}))["status"] == CommandStatus.ACCEPTED
        assert (await send("ChangeAvailability", {"connectorId": 0, "type": "Operative"}))[
            "status"
        ] == CommandStatus.ACCEPTED
        assert station.received[0] == ("Reset", {"type": "Immediate"})
        assert station.received[1] == ("ChangeAvailability", {"operational_status": "Operative"})
        refused = await asyncio.to_thread(
            _post_and_close,
            client,
            f"/api/v1/chargers/{charger.pk}/commands/GetDiagnostics",
            {"location": "ftp://x/"},
            format="json",
        )
        assert refused.status_code == 400 and "GetLog" in json.dumps(refused.json())
    finally:
        runner.cancel()
        await socket_.close()
    stored = await db(Charger.objects.get)(pk=charger.pk)
    assert stored.local_list_version == 4
    assert not await db(ChargingProfile.objects.filter(charger=charger).exists)()
    cancelled = await db(Reservation.objects.get)(pk=reservation)
    assert cancelled.status == ReservationStatus.CANCELLED
    heartbeat = await db(DeviceModelVariable.objects.get)(
        charger=charger, variable="HeartbeatInterval"
    )
    assert heartbeat.value == "120"  # SetVariables accepted


@pytest.mark.parametrize(
    "frame, code",
    [
        ("{not json", "RpcFrameworkError"),
        ('[9, "u1", "Heartbeat", {}]', "MessageTypeNotSupported"),
        ('[2, "u2", "Heartbeat", {"bogus": true}]', "FormatViolation"),
        ('[2, "u3", "Authorize", {}]', "OccurrenceConstraintViolation"),
    ],
)
async def test_malformed_frames_get_the_2_0_1_error_codes_from_a_real_daphne(daphne, frame, code):
    charger = await db(ChargerFactory)()
    token = base64.b64encode(f"{charger.charge_point_id}:{CHARGER_PASSWORD}".encode()).decode()
    async with connect(
        f"{daphne}/{charger.charge_point_id}",
        subprotocols=["ocpp2.0.1", "ocpp1.6"],
        additional_headers={"Authorization": f"Basic {token}"},
    ) as socket_:
        assert socket_.subprotocol == "ocpp2.0.1"
        boot = {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"}
        await socket_.send(json.dumps([2, "b", "BootNotification", boot]))
        assert json.loads(await socket_.recv())[2]["status"] == "Accepted"
        await socket_.send(frame)
        answer = json.loads(await socket_.recv())
    assert answer[0] == 4 and answer[2] == code, answer


async def test_both_versions_side_by_side_on_two_nodes(start_daphne):
    first, second = start_daphne(), start_daphne(OCPP_VERSION_PREFERENCE="ocpp1.6,ocpp2.0.1")
    new, old = await db(ChargerFactory)(), await db(ChargerFactory)()
    both = ("ocpp1.6", "ocpp2.0.1")
    socket_201, station_201, runner_201 = await _open(
        f"{first.ws_url}/ocpp", new.charge_point_id, both
    )
    socket_16 = await connect(
        f"{second.ws_url}/ocpp/{old.charge_point_id}",
        subprotocols=list(both),
        additional_headers={
            "Authorization": "Basic "
            + base64.b64encode(f"{old.charge_point_id}:{CHARGER_PASSWORD}".encode()).decode()
        },
    )
    try:
        assert (socket_201.subprotocol, socket_16.subprotocol) == ("ocpp2.0.1", "ocpp1.6")
        boot = await station_201.call(
            call.BootNotification(
                charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
            )
        )
        assert boot.status == "Accepted"
        await socket_16.send(
            json.dumps(
                [2, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]
            )
        )
        assert json.loads(await socket_16.recv())[2]["status"] == "Accepted"
    finally:
        runner_201.cancel()
        await socket_201.close()
        await socket_16.close()
    versions = await db(lambda: dict(Charger.objects.values_list("pk", "ocpp_version")))()
    assert versions[new.pk] == OcppVersion.V201 and versions[old.pk] == OcppVersion.V16
