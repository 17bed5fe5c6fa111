"""``python manage.py simulate_devices``: Tasmota IR readers for the demo, publishing realistic
SENSOR payloads (a house-like daily load curve, one with rooftop solar) every TelePeriod.

It publishes what a real reader would, including ``Meter_id``, so the ingest attaches each new
device to its live meter by meter number. Without live meters it creates a few demo ones on the
first customer account. Registers continue from each meter's last stored reading.
"""

import json
import logging
import math
import random
import signal
import threading
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q

from accounts.models import CustomerAccount
from config.mqtt import broker_address, client_secure
from meters import services as meter_services
from meters.models import Meter, MeterKind, Reading
from meters.telemetry.models import Device as TelemetryDevice

log = logging.getLogger("meters.telemetry.simulator")

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
    help = "Publish simulated Tasmota meter telemetry for the demo's live meters."

    def add_arguments(self, parser):
        parser.add_argument("--meters", type=int, default=3, help="Demo meters to create if none.")
        parser.add_argument("--period", type=int, default=10, help="TelePeriod in seconds.")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        rng = random.Random(options["seed"])  # noqa: S311 - a simulation, not a secret
        meters = self._meters(options["meters"], stop)
        if not meters:
            return
        devices = [
            Device(meter, solar=index % 3 == 1, rng=rng) for index, meter in enumerate(meters)
        ]
        self._announce(devices, options["period"])
        client = self._client()
        root = settings.TELEMETRY_TOPIC_ROOT
        for device in devices:
            client.publish(f"{root}/{device.topic}/LWT", "Online", qos=1, retain=True)
        log.info("simulating %d Tasmota devices every %d s", len(devices), options["period"])
        while not stop.is_set():
            now = datetime.now(tz=ZoneInfo("UTC"))
            for device in devices:
                client.publish(
                    f"{root}/{device.topic}/SENSOR",
                    device.payload(now, options["period"], rng),
                    qos=1,
                )
            stop.wait(options["period"])
        for device in devices:
            client.publish(f"{root}/{device.topic}/LWT", "Offline", qos=1, retain=True)
        client.disconnect()
        client.loop_stop()

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
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"homegrid-simulator-{random.randrange(16**6):06x}",  # noqa: S311
        )
        client_secure(client)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.connect_async(*broker_address())
        client.loop_start()
        return client
