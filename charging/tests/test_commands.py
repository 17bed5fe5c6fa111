"""Central-system operations: a service records the command, the channel layer carries it to the
consumer holding the socket, the consumer calls the charger as a task, the outcome lands in the
ChargerCommand row."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from charging import services
from charging.models import (
    ChargerCommand,
    ChargingProfile,
    CommandStatus,
    LocalAuthListEntry,
    Registration,
    Reservation,
    ReservationStatus,
)
from config.exceptions import ApplicationError, Conflict

from .conftest import db
from .factories import ChargerFactory

pytestmark = pytest.mark.django_db(transaction=True)
# A reservation's expiry is in the future and at most 30 days ahead (services.command_rules).
EXPIRY = (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def _wait_done(command: ChargerCommand) -> ChargerCommand:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await db(command.refresh_from_db)()
        if command.is_done:
            return command
        await asyncio.sleep(0.02)
    raise AssertionError(f"command {command.pk} still pending")


async def _command(charger, operation, payload):
    return await db(services.command_create)(charger=charger, operation=operation, payload=payload)


async def _connected(open_station, **kwargs):
    charger = await db(ChargerFactory)(**kwargs)
    station = await open_station(charger)
    await db(charger.refresh_from_db)()
    return charger, station


async def test_it_delivers_a_command_and_stores_the_chargers_acceptance(open_station):
    charger, station = await _connected(open_station)
    command = await _command(charger, "Reset", {"type": "Soft"})
    call = await station.receive_call()
    assert call[0] == 2 and call[2] == "Reset" and call[3] == {"type": "Soft"}
    await station.answer(call[1], {"status": "Accepted"})
    command = await _wait_done(command)
    assert command.status == CommandStatus.ACCEPTED
    assert command.response == {"status": "Accepted"}


async def test_it_stores_a_refusal_as_rejected(open_station):
    charger, station = await _connected(open_station)
    command = await _command(charger, "UnlockConnector", {"connectorId": 1})
    call = await station.receive_call()
    await station.answer(call[1], {"status": "UnlockFailed"})
    assert (await _wait_done(command)).status == CommandStatus.REJECTED


async def test_it_stores_a_call_error_with_its_code(open_station):
    charger, station = await _connected(open_station)
    command = await _command(charger, "ClearCache", {})
    call = await station.receive_call()
    await station.ws.send_json_to([4, call[1], "NotImplemented", "no cache here", {}])
    command = await _wait_done(command)
    assert (command.status, command.error_code) == (CommandStatus.ERROR, "NotImplemented")


async def test_it_stores_an_invalid_answer_as_an_error(open_station):
    charger, station = await _connected(open_station)
    command = await _command(charger, "ClearCache", {})
    call = await station.receive_call()
    await station.answer(call[1], {"status": "Maybe"})
    command = await _wait_done(command)
    assert command.status == CommandStatus.ERROR and command.error_code


@override_settings(CHARGING_COMMAND_TIMEOUT=1)
async def test_it_times_out_when_the_charger_does_not_answer(open_station):
    charger, station = await _connected(open_station)
    command = await _command(charger, "GetLocalListVersion", {})
    await station.receive_call()
    command = await _wait_done(command)
    assert command.status == CommandStatus.TIMEOUT


async def test_it_keeps_answering_the_charger_while_a_command_waits(open_station):
    charger, station = await _connected(open_station)
    command = await _command(charger, "GetConfiguration", {"key": ["HeartbeatInterval"]})
    call = await station.receive_call()
    assert (await station.conf("Heartbeat"))["currentTime"]
    await station.answer(
        call[1],
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
    )
    command = await _wait_done(command)
    assert command.status == CommandStatus.ACCEPTED
    assert command.response["configurationKey"][0]["value"] == "300"


async def test_it_records_offline_at_once_for_a_charger_that_is_not_connected():
    charger = await db(ChargerFactory)()
    command = await _command(charger, "Reset", {"type": "Hard"})
    assert command.status == CommandStatus.OFFLINE


async def test_it_records_offline_when_the_socket_closes_before_the_answer(open_station):
    charger, station = await _connected(open_station)
    command = await _command(charger, "Reset", {"type": "Hard"})
    await station.receive_call()
    await station.close()
    assert (await _wait_done(command)).status == CommandStatus.OFFLINE


INVALID_COMMANDS = [
    ("Reset", {"type": "Lukewarm"}),
    ("Reset", {}),
    ("ChangeAvailability", {"connectorId": "one", "type": "Inoperative"}),
    ("RemoteStartTransaction", {"idTag": "X", "unexpected": 1}),
    ("Teleport", {}),
]


async def test_it_refuses_invalid_commands_before_sending_them():
    charger = await db(ChargerFactory)()
    for operation, payload in INVALID_COMMANDS:
        with pytest.raises(ApplicationError):
            await _command(charger, operation, payload)
    assert not await db(ChargerCommand.objects.exists)()


async def test_it_refuses_remote_start_while_the_charger_is_pending():
    charger = await db(ChargerFactory)(registration=Registration.PENDING)
    with pytest.raises(Conflict):
        await _command(charger, "RemoteStartTransaction", {"idTag": "ABC"})


async def test_it_stores_reservations_profiles_and_the_local_list_the_charger_accepts(
    open_station,
):
    charger, station = await _connected(open_station)

    async def accepted(operation, payload, answer=None):
        command = await _command(charger, operation, payload)
        call = await station.receive_call()
        await station.answer(call[1], answer or {"status": "Accepted"})
        command = await _wait_done(command)
        assert command.status == CommandStatus.ACCEPTED, command.error_description
        return command, call

    _, call = await accepted("ReserveNow", {"connectorId": 1, "idTag": "ABC", "expiryDate": EXPIRY})
    reservation = await db(Reservation.objects.get)()
    assert call[3]["reservationId"] == reservation.pk
    assert reservation.status == ReservationStatus.ACCEPTED
    await accepted("CancelReservation", {"reservationId": reservation.pk})
    await db(reservation.refresh_from_db)()
    assert reservation.status == ReservationStatus.CANCELLED

    profile = {
        "chargingProfileId": 7,
        "stackLevel": 1,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }
    await accepted("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile})
    assert await db(ChargingProfile.objects.filter(charger=charger, profile_id=7).exists)()
    await accepted("ClearChargingProfile", {"id": 7})
    assert not await db(ChargingProfile.objects.exists)()

    await accepted(
        "SendLocalList",
        {
            "listVersion": 3,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": "ABC", "idTagInfo": {"status": "Accepted"}}],
        },
    )
    entries = await db(lambda: list(LocalAuthListEntry.objects.values_list("id_tag", "status")))()
    assert entries == [("ABC", "Accepted")]
    await db(charger.refresh_from_db)()
    assert charger.local_list_version == 3


async def test_it_marks_a_refused_reservation_rejected(open_station):
    charger, station = await _connected(open_station)
    command = await _command(
        charger,
        "ReserveNow",
        {"connectorId": 1, "idTag": "ABC", "expiryDate": EXPIRY},
    )
    call = await station.receive_call()
    await station.answer(call[1], {"status": "Occupied"})
    assert (await _wait_done(command)).status == CommandStatus.REJECTED
    assert (await db(Reservation.objects.get)()).status == ReservationStatus.REJECTED
