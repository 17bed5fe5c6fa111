"""``python manage.py simulate_devices``: the demo's devices, as the platform meets real ones.

- Tasmota IR readers (``meters``) publishing realistic SENSOR payloads (a house-like daily load
  curve, one with rooftop solar) every TelePeriod;
- the demo batteries (``batteries``, ``portal.demo.battery``) publishing telemetry, obeying and
  acknowledging the instructions they receive, now and then raising an alert;
- the demo charger (``charger``, ``portal.demo.charger``): an OCPP 1.6J client of the demo's own
  daphne on ``HOMEGRID_WEB_PORT`` (honcho gives each process its own PORT).

It publishes what a real reader would, including ``Meter_id``, so the ingest attaches each new
device to its live meter by meter number. Without live meters it creates a few demo ones on the
first customer account. Registers continue from each meter's last stored reading.
"""

import asyncio
import json
import logging
import math
import os
import random
import signal
import threading
from datetime import UTC, datetime
from decimal import Decimal

import paho.mqtt.client as mqtt
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from accounts.models import CustomerAccount
from batteries.models import Battery
from config.mqtt import broker_address, client_secure
from meters import services as meter_services
from meters.models import Meter, MeterKind, Reading
from meters.telemetry import topics
from meters.telemetry.models import Device as TelemetryDevice
from portal.demo import seed
from portal.demo.battery import SimulatedBattery
from portal.demo.charger import run_charger

log = logging.getLogger("portal.demo.simulator")

KINDS = ("meters", "batteries", "charger")

DEMO_PREFIX = "DEMO-LIVE-"


def house_load_w(local: datetime, solar: bool, rng: random.Random) -> float:
    """A household's power at a local time of day: base load, morning and evening peaks, noise;
    minus rooftop PV around noon for a solar house (negative = exporting)."""
    hour = local.hour + local.minute / 60 + local.second / 3600
    base = 180 + 40 * math.sin(hour / 24 * 2 * math.pi)
    morning = 900 * math.exp(-(((hour - 7.5) / 1.0) ** 2))
    evening = 1500 * math.exp(-(((hour - 18.5) / 1.6) ** 2))
    appliances = rng.choice([0, 0, 0, 0, 120, 1800]) if 6 <= hour <= 23 else 0
    load = base + morning + evening + appliances + rng.gauss(0, 25)
    if solar:
        load -= 2600 * max(0.0, math.sin((hour - 6) / 14 * math.pi)) ** 2
    return round(load, 1)


class Device:
    def __init__(self, meter: Meter, solar: bool, rng: random.Random):
        self.meter = meter
        self.topic = f"sim-{meter.meter_id.lower()}"
        self.solar = solar
        last = Reading.objects.filter(meter=meter).order_by("-at").first()
        self.import_kwh = last.import_kwh if last else Decimal(rng.randint(1500, 9000))
        self.export_kwh = (last.export_kwh or Decimal(0)) if last else Decimal(0)

    def payload(self, now: datetime, period: int, rng: random.Random) -> str:
        local = now.astimezone(self.meter.tz)
        power = house_load_w(local, self.solar, rng)
        energy = Decimal(str(abs(power) * period / 3_600_000)).quantize(Decimal("0.0001"))
        if power >= 0:
            self.import_kwh += energy
        else:
            self.export_kwh += energy
        group = {"Total_in": float(self.import_kwh), "Power_cur": power}
        if self.solar:
            group["Total_out"] = float(self.export_kwh)
        group["Meter_id"] = self.meter.meter_id
        return json.dumps({"Time": local.strftime("%Y-%m-%dT%H:%M:%S"), "MT681": group})


class Command(BaseCommand):
    help = (
        "Simulate the demo's devices: live meters (Tasmota over MQTT), batteries (telemetry and "
        "instructions over MQTT) and a charger (OCPP 1.6J to the demo's daphne)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--only", action="append", choices=KINDS, help="Simulate only these (repeatable)."
        )
        parser.add_argument("--meters", type=int, default=3, help="Demo meters to create if none.")
        parser.add_argument("--period", type=int, default=10, help="TelePeriod in seconds.")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--battery",
            action="append",
            help="Identifier of a battery to play (default: the demo's batteries).",
        )
        parser.add_argument(
            "--charger-url",
            default=None,
            help="The central system's OCPP URL (default ws://127.0.0.1:$HOMEGRID_WEB_PORT/ocpp).",
        )
        parser.add_argument("--charge-point-id", default=seed.DEMO_CHARGER)
        parser.add_argument("--charger-password", default=seed.DEMO_CHARGER_PASSWORD)
        parser.add_argument("--id-tag", default=seed.DEMO_TAG, help="The driver's card.")

    def handle(self, *args, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        kinds = set(options["only"] or KINDS)
        rng = random.Random(options["seed"])  # noqa: S311 - a simulation, not a secret
        charger = self._charger_thread(options, stop) if "charger" in kinds else None
        period = options["period"]
        devices = (
            self._meter_devices(options["meters"], period, rng, stop) if "meters" in kinds else []
        )
        batteries = self._batteries(options["battery"], rng) if "batteries" in kinds else []
        client = self._client()
        root = settings.TELEMETRY_TOPIC_ROOT
        for device in devices:
            client.publish(f"{root}/{device.topic}/LWT", "Online", qos=1, retain=True)
        self._obey(client, batteries)
        log.info(
            "simulating %d Tasmota devices and %d batteries every %d s%s",
            len(devices),
            len(batteries),
            period,
            ", and a charger" if charger else "",
        )
        zone = timezone.get_default_timezone()
        while not stop.is_set():
            now = datetime.now(tz=UTC)
            for device in devices:
                client.publish(
                    f"{root}/{device.topic}/SENSOR", device.payload(now, period, rng), qos=1
                )
            local = now.astimezone(zone)
            hour = local.hour + local.minute / 60
            for battery in batteries:
                with battery.lock:
                    payload = battery.step(now, period, hour)
                client.publish(
                    topics.battery_telemetry_topic(battery.identifier), json.dumps(payload), qos=1
                )
            stop.wait(period)
        for device in devices:
            client.publish(f"{root}/{device.topic}/LWT", "Offline", qos=1, retain=True)
        client.disconnect()
        client.loop_stop()
        if charger is not None:
            charger.join(timeout=10)

    def _meter_devices(self, count: int, period: int, rng, stop) -> list[Device]:
        meters = self._meters(count, stop)
        devices = [
            Device(meter, solar=index % 3 == 1, rng=rng) for index, meter in enumerate(meters)
        ]
        self._announce(devices, period)
        return devices

    def _batteries(self, identifiers: list[str] | None, rng) -> list[SimulatedBattery]:
        """The batteries to play: those named, or the demo's; each starts at its last charge."""
        if identifiers:
            units = Battery.objects.filter(identifier__in=identifiers)
        else:
            units = Battery.objects.filter(model=seed.DEMO_BATTERY_MODEL)
        played = []
        for unit in units.order_by("identifier"):
            battery = SimulatedBattery(
                identifier=unit.identifier,
                capacity_kwh=float(unit.capacity_kwh),
                soc_percent=float(unit.soc_percent) if unit.soc_percent is not None else 55.0,
                reserve_soc=float(unit.min_soc_reserve),
                rng=random.Random(rng.random()),  # noqa: S311
            )
            played.append(battery)
        return played

    def _obey(self, client: mqtt.Client, batteries: list[SimulatedBattery]) -> None:
        """Subscribe to each battery's commands (again on every reconnect); answer each."""
        by_topic = {topics.battery_command_topic(b.identifier): b for b in batteries}

        def subscribe(client, _userdata, _flags, reason_code, _properties):
            if not reason_code.is_failure and by_topic:
                client.subscribe([(topic, 1) for topic in by_topic])

        def command(client, _userdata, message):
            battery = by_topic.get(message.topic)
            if battery is None:
                return
            with battery.lock:
                ack = battery.command(message.payload, datetime.now(tz=UTC))
            log.info("battery %s: %s", battery.identifier, ack)
            if ack["instruction_id"] is not None:
                client.publish(topics.battery_ack_topic(battery.identifier), json.dumps(ack), qos=1)

        client.on_connect = subscribe
        client.on_message = command

    def _charger_thread(self, options, stop: threading.Event) -> threading.Thread:
        """The OCPP charger on its own event loop, stopped with the rest."""
        port = os.environ.get("HOMEGRID_WEB_PORT", "8000")
        url = options["charger_url"] or f"ws://127.0.0.1:{port}/ocpp"

        async def main():
            stopped = asyncio.Event()
            loop = asyncio.get_running_loop()
            threading.Thread(
                target=lambda: (stop.wait(), loop.call_soon_threadsafe(stopped.set)), daemon=True
            ).start()
            await run_charger(
                url=url,
                charge_point_id=options["charge_point_id"],
                password=options["charger_password"],
                default_tag=options["id_tag"],
                stop=stopped,
            )

        thread = threading.Thread(target=asyncio.run, args=(main(),), name="charger", daemon=True)
        thread.start()
        return thread

    def _announce(self, devices: list[Device], period: int) -> None:
        """Record each simulated reader's TelePeriod, as staff set a real one's in the admin, so
        supervision expects a SENSOR every ``period`` s (the default is Tasmota's 300 s)."""
        for device in devices:
            known = TelemetryDevice.objects.filter(topic=device.topic)
            if known.update(tele_period_seconds=period):
                continue
            if not TelemetryDevice.objects.filter(meter=device.meter).exists():
                TelemetryDevice.objects.create(
                    topic=device.topic, meter=device.meter, tele_period_seconds=period
                )

    def _meters(self, count: int, stop: threading.Event) -> list[Meter]:
        """The live meters without a device of another kind; demo ones are created when there
        are none. Waits (instead of exiting, which would stop honcho) until an account exists."""
        while not stop.is_set():
            meters = list(
                Meter.objects.filter(kind=MeterKind.LIVE)
                .filter(
                    Q(telemetry_device__isnull=True) | Q(telemetry_device__topic__startswith="sim-")
                )
                .order_by("meter_id")
            )
            if meters:
                return meters
            account = CustomerAccount.objects.order_by("pk").first()
            if account is not None:
                for number in range(1, count + 1):
                    meter_services.meter_create(
                        meter_id=f"{DEMO_PREFIX}{number:03d}", account=account, kind=MeterKind.LIVE
                    )
                continue
            log.info("no customer account yet (run manage.py seed_demo); waiting")
            stop.wait(10)
        return []

    def _client(self) -> mqtt.Client:
        """Connected in the background; the loop thread runs the command callbacks."""
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"homegrid-simulator-{random.randrange(16**6):06x}",  # noqa: S311
        )
        client_secure(client)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.connect_async(*broker_address())
        client.loop_start()
        return client
