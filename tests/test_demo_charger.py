"""The demo's simulated OCPP 1.6J charger (#20) against a real daphne: it boots with Basic auth,
takes its configuration and a charging profile from the central system, and runs a session with
meter values when started remotely, as the portal's Start button does, until stopped."""

import asyncio
import contextlib

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from accounts.tests.factories import CustomerAccountFactory
from charging import services as charging_services
from charging.models import Charger, ChargerCommand, CommandStatus, MeterValue, Transaction
from charging.tests.conftest import daphne_env
from portal.demo.charger import ChargerState, run_charger
from tests.servers import Daphne

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
db = database_sync_to_async
PASSWORD = "demo-charger-secret-42"


async def eventually(read, timeout: float = 30, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await db(read)()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


def _command(charger: Charger, operation: str, payload: dict) -> ChargerCommand:
    """As the portal's views do: create the command and wait for the charger's answer."""
    try:
        command = charging_services.command_create(
            charger=charger, operation=operation, payload=payload
        )
        return charging_services.command_await(command=command, timeout=15)
    finally:
        connections.close_all()


async def command(charger, operation, payload) -> ChargerCommand:
    return await asyncio.to_thread(_command, charger, operation, payload)


def _setup() -> Charger:
    account = CustomerAccountFactory()
    charger = charging_services.charger_register(
        charge_point_id="DEMO-CP-T1", password=PASSWORD, account=account
    )
    charging_services.id_tag_create(id_tag="DEMOCARD01", account=account)
    return charger


async def test_it_boots_and_runs_a_remotely_started_session_with_meter_values():
    charger = await db(_setup)()
    state = ChargerState(default_tag="DEMOCARD01")
    stop = asyncio.Event()
    with Daphne(daphne_env()) as server:
        running = asyncio.create_task(
            run_charger(
                url=f"{server.ws_url}/ocpp",
                charge_point_id=charger.charge_point_id,
                password=PASSWORD,
                default_tag="DEMOCARD01",
                stop=stop,
                state=state,
            )
        )
        try:
            await eventually(
                lambda: Charger.objects.filter(
                    pk=charger.pk, connected=True, vendor="HomeGrid"
                ).exists(),
                what="the charger to connect and boot",
            )

            changed = await command(
                charger, "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "1"}
            )
            assert changed.status == CommandStatus.ACCEPTED
            profile = {
                "connectorId": 1,
                "csChargingProfiles": {
                    "chargingProfileId": 7,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "TxDefaultProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": {
                        "chargingRateUnit": "W",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000.0}],
                    },
                },
            }
            assert (await command(charger, "SetChargingProfile", profile)).status == "accepted"
            started = await command(
                charger, "RemoteStartTransaction", {"connectorId": 1, "idTag": "DEMOCARD01"}
            )
            assert started.status == CommandStatus.ACCEPTED

            session = await eventually(
                lambda: Transaction.objects.filter(charger=charger).first(), what="a session"
            )
            await eventually(
                lambda: MeterValue.objects.filter(transaction=session).count() >= 4,
                what="meter values of the session",
            )
            stopped = await command(charger, "RemoteStopTransaction", {"transactionId": session.pk})
            assert stopped.status == CommandStatus.ACCEPTED
            ended = await eventually(
                lambda: Transaction.objects.filter(pk=session.pk, stopped_at__isnull=False).first(),
                what="the session to stop",
            )
            # The station reports Finishing, sends StopTransaction (which stores stopped_at), and
            # only then reports Available: wait for that last StatusNotification before stopping it.
            await eventually(
                lambda: state.session is None and state.status == "Available",
                what="the charger to report Available after the session",
            )
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(running, timeout=15)

    assert ended.id_tag == "DEMOCARD01" and ended.meter_stop_wh > ended.meter_start_wh
    powers = await db(
        lambda: list(
            MeterValue.objects.filter(
                transaction=session, measurand="Power.Active.Import"
            ).values_list("numeric", flat=True)
        )
    )()
    assert powers and all(0 < power <= 3000 for power in powers), "the profile caps the power"
    assert state.session is None and state.status == "Available"
