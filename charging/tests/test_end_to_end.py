"""A real daphne process on a free port with the Redis channel layer, and a charger played by the
``ocpp`` library over a real websocket (``websockets``). Commands are issued through the API from
this test process, so they cross processes through Redis to the daphne holding the socket."""

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call
from ocpp.v16 import call_result as result
from ocpp.v16.enums import Action
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.tests.factories import StaffFactory
from charging.models import Charger, CommandStatus, MeterValue, Transaction

from .factories import CHARGER_PASSWORD, ChargerFactory, IdTagFactory


def _post_and_close(client, *args, **kwargs):
    """A request from a worker thread; its database connection must not outlive it."""
    from django.db import connections

    try:
        return client.post(*args, **kwargs)
    finally:
        connections.close_all()


pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
db = database_sync_to_async


@pytest.fixture
def daphne(start_daphne):
    return f"{start_daphne().ws_url}/ocpp"


class Station(ChargePoint):
    """A charger that accepts every central-system operation."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[str] = []

    def _got(self, action: str):
        self.received.append(action)

    @on(Action.remote_start_transaction)
    def remote_start(self, **kwargs):
        self._got("RemoteStartTransaction")
        return result.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)
    def remote_stop(self, **kwargs):
        self._got("RemoteStopTransaction")
        return result.RemoteStopTransaction(status="Accepted")

    @on(Action.reset)
    def reset(self, **kwargs):
        self._got("Reset")
        return result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    def unlock(self, **kwargs):
        self._got("UnlockConnector")
        return result.UnlockConnector(status="Unlocked")

    @on(Action.change_availability)
    def availability(self, **kwargs):
        self._got("ChangeAvailability")
        return result.ChangeAvailability(status="Accepted")

    @on(Action.get_configuration)
    def get_configuration(self, **kwargs):
        self._got("GetConfiguration")
        return result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )

    @on(Action.change_configuration)
    def change_configuration(self, **kwargs):
        self._got("ChangeConfiguration")
        return result.ChangeConfiguration(status="Accepted")

    @on(Action.clear_cache)
    def clear_cache(self, **kwargs):
        self._got("ClearCache")
        return result.ClearCache(status="Accepted")

    @on(Action.trigger_message)
    def trigger(self, **kwargs):
        self._got("TriggerMessage")
        return result.TriggerMessage(status="Accepted")

    @on(Action.data_transfer)
    def data_transfer(self, **kwargs):
        self._got("DataTransfer")
        return result.DataTransfer(status="Accepted")

    @on(Action.get_local_list_version)
    def list_version(self, **kwargs):
        self._got("GetLocalListVersion")
        return result.GetLocalListVersion(list_version=3)

    @on(Action.send_local_list)
    def send_list(self, **kwargs):
        self._got("SendLocalList")
        return result.SendLocalList(status="Accepted")

    @on(Action.reserve_now)
    def reserve(self, **kwargs):
        self._got("ReserveNow")
        return result.ReserveNow(status="Accepted")

    @on(Action.cancel_reservation)
    def cancel(self, **kwargs):
        self._got("CancelReservation")
        return result.CancelReservation(status="Accepted")

    @on(Action.set_charging_profile)
    def set_profile(self, **kwargs):
        self._got("SetChargingProfile")
        return result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    def clear_profile(self, **kwargs):
        self._got("ClearChargingProfile")
        return result.ClearChargingProfile(status="Accepted")

    @on(Action.get_composite_schedule)
    def composite(self, **kwargs):
        self._got("GetCompositeSchedule")
        return result.GetCompositeSchedule(status="Accepted", connector_id=1)

    @on(Action.get_diagnostics)
    def diagnostics(self, **kwargs):
        self._got("GetDiagnostics")
        return result.GetDiagnostics(file_name="diag.zip")

    @on(Action.update_firmware)
    def firmware(self, **kwargs):
        self._got("UpdateFirmware")
        return result.UpdateFirmware()


def _auth(charge_point_id: str) -> dict:
    token = base64.b64encode(f"{charge_point_id}:{CHARGER_PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def _open(url: str, charge_point_id: str):
    socket_ = await connect(
        f"{url}/{charge_point_id}",
        subprotocols=["ocpp1.6"],
        additional_headers=_auth(charge_point_id),
    )
    station = Station(charge_point_id, socket_, response_timeout=10)
    runner = asyncio.create_task(station.start())
    return socket_, station, runner


async def test_it_runs_a_whole_session_over_a_real_websocket(daphne):
    charger = await db(ChargerFactory)()
    await db(IdTagFactory)(id_tag="CARD1")
    socket_, station, runner = await _open(daphne, charger.charge_point_id)
    try:
        boot = await station.call(
            call.BootNotification(charge_point_model="Wallbox 7", charge_point_vendor="Acme")
        )
        assert boot.status == "Accepted"
        authorized = await station.call(call.Authorize(id_tag="CARD1"))
        assert authorized.id_tag_info["status"] == "Accepted"
        started = await station.call(
            call.StartTransaction(connector_id=1, id_tag="CARD1", meter_start=100, timestamp=_now())
        )
        transaction_id = started.transaction_id
        await station.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=transaction_id,
                meter_value=[{"timestamp": _now(), "sampled_value": [{"value": "1600"}]}],
            )
        )
        stopped = await station.call(
            call.StopTransaction(
                meter_stop=3100, timestamp=_now(), transaction_id=transaction_id, id_tag="CARD1"
            )
        )
        assert stopped.id_tag_info["status"] == "Accepted"
    finally:
        runner.cancel()
        await socket_.close()
    row = await db(Transaction.objects.get)(pk=transaction_id)
    assert str(row.energy_kwh) == "3.000"
    assert await db(MeterValue.objects.filter(transaction=row).count)() == 1


OPERATIONS = [
    ("RemoteStartTransaction", {"connectorId": 1, "idTag": "CARD1"}),
    ("RemoteStopTransaction", {"transactionId": 1}),
    ("Reset", {"type": "Soft"}),
    ("UnlockConnector", {"connectorId": 1}),
    ("ChangeAvailability", {"connectorId": 0, "type": "Operative"}),
    ("GetConfiguration", {}),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "120"}),
    ("ClearCache", {}),
    ("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}),
    ("DataTransfer", {"vendorId": "com.acme", "data": "hello"}),
    ("GetLocalListVersion", {}),
    ("SendLocalList", {"listVersion": 4, "updateType": "Full", "localAuthorizationList": []}),
    (
        "ReserveNow",
        {
            "connectorId": 1,
            "idTag": "CARD1",
            "expiryDate": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
    ),
    ("CancelReservation", {"reservationId": 1}),
    (
        "SetChargingProfile",
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}],
                },
            },
        },
    ),
    ("ClearChargingProfile", {"id": 1}),
    ("GetCompositeSchedule", {"connectorId": 1, "duration": 3600}),
    ("GetDiagnostics", {"location": "ftp://diag.example.com/"}),
    ("UpdateFirmware", {"location": "https://fw.example.com/1.bin", "retrieveDate": _now()}),
]


async def test_it_delivers_every_operation_from_another_process_and_replaces_a_stale_socket(
    daphne, api
):
    staff = await db(StaffFactory)()
    client = await db(api.as_user)(staff)
    charger = await db(ChargerFactory)()
    stale_socket, stale, stale_runner = await _open(daphne, charger.charge_point_id)
    await stale.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))

    socket_, station, runner = await _open(daphne, charger.charge_point_id)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(stale_runner, timeout=10)
    assert stale_socket.close_code == 4000
    try:
        await station.call(call.Heartbeat())
        for operation, payload in OPERATIONS:
            url = f"/api/v1/chargers/{charger.pk}/commands/{operation}"
            response = await asyncio.to_thread(_post_and_close, client, url, payload, format="json")
            assert response.status_code == 201, response.json()
            assert response.json()["status"] == CommandStatus.ACCEPTED, (operation, response.json())
        assert station.received == [operation for operation, _ in OPERATIONS]
        owner = await db(Charger.objects.get)(pk=charger.pk)
        assert owner.connected, "the stale socket closing must not mark the charger offline"
    finally:
        runner.cancel()
        await socket_.close()
    charger = await db(Charger.objects.get)(pk=charger.pk)
    assert charger.local_list_version == 4, "SendLocalList's version, accepted after the read"


async def test_it_keeps_one_owner_when_the_charger_reconnects_to_another_daphne(start_daphne, api):
    first, second = (f"{start_daphne().ws_url}/ocpp" for _ in range(2))
    staff = await db(StaffFactory)()
    client = await db(api.as_user)(staff)
    charger = await db(ChargerFactory)()
    old_socket, old, old_runner = await _open(first, charger.charge_point_id)
    await old.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))

    socket_, station, runner = await _open(second, charger.charge_point_id)
    try:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(old_runner, timeout=10)
        assert old_socket.close_code == 4000
        await station.call(call.Heartbeat())
        url = f"/api/v1/chargers/{charger.pk}/commands/Reset"
        response = await asyncio.to_thread(
            _post_and_close, client, url, {"type": "Soft"}, format="json"
        )
        assert response.json()["status"] == CommandStatus.ACCEPTED
        assert station.received == ["Reset"] and old.received == []
    finally:
        runner.cancel()
        await socket_.close()
