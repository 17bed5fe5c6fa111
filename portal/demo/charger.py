"""A simulated OCPP 1.6J charger for the demo: the ``ocpp`` library's ChargePoint over a
``websockets`` client, connecting to the demo's own daphne with HTTP Basic auth (security
profile 1) as a real wallbox would.

It boots, heartbeats and reports its connector, answers the central system's operations
(remote start and stop, charging profiles, configuration, reset, unlock, availability, trigger,
local list, reservations, ...), and runs a session when started remotely: StartTransaction
with the tag it was given, MeterValues (energy register and power) every sample interval,
StopTransaction when stopped. A charging profile's limit caps the power. It reconnects with a
back-off when the socket drops. No database: it knows only its id, password and the URL."""

import asyncio
import base64
import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call
from ocpp.v16 import call_result as result
from ocpp.v16.enums import Action
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

log = logging.getLogger("portal.demo.charger")

MAX_POWER_W = 7200.0  # a 32 A single-phase wallbox
VOLTAGE = 230.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Session:
    transaction_id: int
    id_tag: str
    meter_start_wh: int


@dataclass
class Settings:
    """The configuration keys the central system may read and change."""

    values: dict[str, str] = field(
        default_factory=lambda: {
            "HeartbeatInterval": "60",
            "MeterValueSampleInterval": "10",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
            "AuthorizeRemoteTxRequests": "false",
            "NumberOfConnectors": "1",
        }
    )
    readonly: frozenset[str] = frozenset({"NumberOfConnectors"})

    def seconds(self, key: str) -> float:
        return max(1.0, float(self.values[key]))


class SimulatedCharger(ChargePoint):
    """One connector; the charger's state lives here between reconnects."""

    def __init__(self, charge_point_id: str, connection, *, state: "ChargerState"):
        super().__init__(charge_point_id, connection, response_timeout=15)
        self.state = state

    # ---- what the charger sends --------------------------------------------------------

    async def boot(self) -> int:
        answer = await self.call(
            call.BootNotification(
                charge_point_vendor="HomeGrid", charge_point_model="Demo Wallbox 7"
            )
        )
        interval = int(answer.interval or 0)
        if interval:
            self.state.settings.values["HeartbeatInterval"] = str(interval)
        await self.status("Charging" if self.state.session else "Available")
        return interval

    async def status(self, status: str) -> None:
        self.state.status = status
        await self.call(
            call.StatusNotification(
                connector_id=1, error_code="NoError", status=status, timestamp=_now()
            )
        )

    async def heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.state.settings.seconds("HeartbeatInterval"))
            await self.call(call.Heartbeat())

    async def meter_values(self) -> None:
        """While a session runs: the register and the power every sample interval."""
        while True:
            interval = self.state.settings.seconds("MeterValueSampleInterval")
            await asyncio.sleep(interval)
            session = self.state.session
            if session is None:
                continue
            power = self.state.power_w()
            self.state.register_wh += power * interval / 3600
            await self.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=session.transaction_id,
                    meter_value=[
                        {
                            "timestamp": _now(),
                            "sampled_value": [
                                {
                                    "value": f"{self.state.register_wh:.0f}",
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                    "context": "Sample.Periodic",
                                },
                                {
                                    "value": f"{power:.0f}",
                                    "measurand": "Power.Active.Import",
                                    "unit": "W",
                                    "context": "Sample.Periodic",
                                },
                            ],
                        }
                    ],
                )
            )

    async def start_session(self, id_tag: str) -> None:
        await self.status("Preparing")
        meter_start = round(self.state.register_wh)
        answer = await self.call(
            call.StartTransaction(
                connector_id=1, id_tag=id_tag, meter_start=meter_start, timestamp=_now()
            )
        )
        if answer.id_tag_info.get("status") != "Accepted":
            log.info("the central system refused tag %s: %s", id_tag, answer.id_tag_info)
            await self.status("Available")
            return
        self.state.session = Session(answer.transaction_id, id_tag, meter_start)
        await self.status("Charging")

    async def stop_session(self, reason: str = "Remote") -> None:
        session, self.state.session = self.state.session, None
        if session is None:
            return
        await self.status("Finishing")
        await self.call(
            call.StopTransaction(
                meter_stop=round(self.state.register_wh),
                timestamp=_now(),
                transaction_id=session.transaction_id,
                id_tag=session.id_tag,
                reason=reason,
            )
        )
        await self.status("Available")

    # ---- what the central system asks --------------------------------------------------

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_):
        if self.state.session is not None or connector_id not in (None, 1):
            return result.RemoteStartTransaction(status="Rejected")
        return result.RemoteStartTransaction(status="Accepted")

    @after(Action.remote_start_transaction)
    async def after_remote_start(self, id_tag: str, connector_id: int | None = None, **_):
        if self.state.session is None and connector_id in (None, 1):
            await self.start_session(id_tag or self.state.default_tag)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_):
        session = self.state.session
        running = session is not None and session.transaction_id == transaction_id
        return result.RemoteStopTransaction(status="Accepted" if running else "Rejected")

    @after(Action.remote_stop_transaction)
    async def after_remote_stop(self, transaction_id: int, **_):
        session = self.state.session
        if session is not None and session.transaction_id == transaction_id:
            await self.stop_session()

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **_):
        schedule = cs_charging_profiles.get("charging_schedule", {})
        periods = schedule.get("charging_schedule_period") or []
        if not periods:
            return result.SetChargingProfile(status="Rejected")
        limit = float(periods[0]["limit"])
        if schedule.get("charging_rate_unit") == "A":
            limit *= VOLTAGE
        self.state.profiles[cs_charging_profiles["charging_profile_id"]] = limit
        return result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, id: int | None = None, **_):
        if id is None:
            self.state.profiles.clear()
        else:
            self.state.profiles.pop(id, None)
        return result.ClearChargingProfile(status="Accepted")

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, connector_id: int, duration: int, **_):
        return result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=_now(),
            charging_schedule={
                "charging_rate_unit": "W",
                "duration": duration,
                "charging_schedule_period": [{"start_period": 0, "limit": self.state.limit_w()}],
            },
        )

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_):
        settings = self.state.settings
        wanted = key or list(settings.values)
        known = [name for name in wanted if name in settings.values]
        return result.GetConfiguration(
            configuration_key=[
                {"key": name, "readonly": name in settings.readonly, "value": settings.values[name]}
                for name in known
            ],
            unknown_key=[name for name in wanted if name not in settings.values] or None,
        )

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_):
        settings = self.state.settings
        if key not in settings.values:
            return result.ChangeConfiguration(status="NotSupported")
        if key in settings.readonly:
            return result.ChangeConfiguration(status="Rejected")
        if key.endswith("Interval"):
            try:
                if int(value) < 1:
                    raise ValueError(value)
            except ValueError:
                return result.ChangeConfiguration(status="Rejected")
        settings.values[key] = value
        return result.ChangeConfiguration(status="Accepted")

    @on(Action.reset)
    def on_reset(self, type: str, **_):
        return result.Reset(status="Accepted")

    @after(Action.reset)
    async def after_reset(self, type: str, **_):
        await self.stop_session(reason="HardReset" if type == "Hard" else "SoftReset")
        await self.boot()

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int, **_):
        return result.UnlockConnector(status="Unlocked" if connector_id == 1 else "NotSupported")

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_):
        if self.state.session is not None and type == "Inoperative":
            self.state.available = False
            return result.ChangeAvailability(status="Scheduled")
        self.state.available = type == "Operative"
        return result.ChangeAvailability(status="Accepted")

    @after(Action.change_availability)
    async def after_change_availability(self, connector_id: int, type: str, **_):
        if self.state.session is None:
            await self.status("Available" if self.state.available else "Unavailable")

    @on(Action.trigger_message)
    def on_trigger(self, requested_message: str, connector_id: int | None = None, **_):
        supported = {"BootNotification", "Heartbeat", "StatusNotification", "MeterValues"}
        status = "Accepted" if requested_message in supported else "NotImplemented"
        return result.TriggerMessage(status=status)

    @after(Action.trigger_message)
    async def after_trigger(self, requested_message: str, connector_id: int | None = None, **_):
        if requested_message == "BootNotification":
            await self.boot()
        elif requested_message == "Heartbeat":
            await self.call(call.Heartbeat())
        elif requested_message == "StatusNotification":
            await self.status(self.state.status)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_):
        return result.ClearCache(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_):
        return result.DataTransfer(status="UnknownVendorId")

    @on(Action.get_local_list_version)
    def on_list_version(self, **_):
        return result.GetLocalListVersion(list_version=self.state.local_list_version)

    @on(Action.send_local_list)
    def on_send_local_list(self, list_version: int, update_type: str, **_):
        self.state.local_list_version = list_version
        return result.SendLocalList(status="Accepted")

    @on(Action.reserve_now)
    def on_reserve(self, connector_id: int, reservation_id: int, **_):
        if self.state.session is not None:
            return result.ReserveNow(status="Occupied")
        self.state.reservation_id = reservation_id
        return result.ReserveNow(status="Accepted")

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_):
        if self.state.reservation_id != reservation_id:
            return result.CancelReservation(status="Rejected")
        self.state.reservation_id = None
        return result.CancelReservation(status="Accepted")

    @on(Action.get_diagnostics)
    def on_diagnostics(self, location: str, **_):
        return result.GetDiagnostics()

    @on(Action.update_firmware)
    def on_firmware(self, location: str, retrieve_date: str, **_):
        return result.UpdateFirmware()


@dataclass
class ChargerState:
    """What survives a reconnect: the register, the session, the settings and profiles."""

    default_tag: str
    register_wh: float = field(default_factory=lambda: float(random.randint(100_000, 900_000)))  # noqa: S311
    session: Session | None = None
    status: str = "Available"
    available: bool = True
    settings: Settings = field(default_factory=Settings)
    profiles: dict[int, float] = field(default_factory=dict)
    local_list_version: int = 0
    reservation_id: int | None = None

    def limit_w(self) -> float:
        return min([MAX_POWER_W, *self.profiles.values()])

    def power_w(self) -> float:
        """What the car draws: the limit, less a little for the car's own regulation."""
        return max(0.0, self.limit_w() * random.uniform(0.96, 0.995))  # noqa: S311


def basic_auth(charge_point_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def run_charger(
    *,
    url: str,
    charge_point_id: str,
    password: str,
    default_tag: str,
    stop: asyncio.Event,
    state: ChargerState | None = None,
) -> ChargerState:
    """Stay connected to ``url`` (``ws://host:port/ocpp``) until ``stop`` is set, reconnecting
    with a back-off of 1 to 10 s (daphne may still be starting)."""
    state = state or ChargerState(default_tag=default_tag)
    delay = 1.0
    while not stop.is_set():
        try:
            async with connect(
                f"{url}/{charge_point_id}",
                subprotocols=["ocpp1.6"],
                additional_headers=basic_auth(charge_point_id, password),
                open_timeout=10,
            ) as socket_:
                delay = 1.0
                charger = SimulatedCharger(charge_point_id, socket_, state=state)
                await _serve(charger, stop)
        except InvalidStatus as exc:
            log.warning("%s refused by %s: HTTP %s", charge_point_id, url, exc.response.status_code)
        except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as exc:
            log.info(
                "%s: no connection to %s (%s); retrying in %.0f s", charge_point_id, url, exc, delay
            )
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 10.0)
    return state


async def _serve(charger: SimulatedCharger, stop: asyncio.Event) -> None:
    """Receive, boot, heartbeat and sample until the socket closes or ``stop`` is set."""
    receiving = asyncio.create_task(charger.start())
    await charger.boot()
    log.info("%s booted", charger.id)
    tasks = [
        receiving,
        asyncio.create_task(charger.heartbeats()),
        asyncio.create_task(charger.meter_values()),
        asyncio.create_task(stop.wait()),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not tasks[3] and task.exception() is not None:
                raise task.exception()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
