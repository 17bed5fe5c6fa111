"""MQTT telemetry ingest, end to end, against real Mosquitto and PostgreSQL.

Publishes ``--messages`` Tasmota SENSOR messages (QoS 1) from ``--devices`` devices and measures,
in the same run:

- the raw receive rate of a bare paho subscriber (QoS 1, ``json.loads`` only, nothing stored);
- the end-to-end rate of ``manage.py ingest_mqtt`` (a real process: batches, meters' bulk ingest,
  acknowledgement after commit): messages persisted per second from the first publish until the
  last reading is in the database; and that none was lost.

Runs its own Mosquitto on a free port with unlimited queues (Mosquitto's defaults, 1,000 queued
and 20 in flight per client, drop QoS 1 messages when a subscriber falls behind a burst), and a
throw-away database (``bench_telemetry`` unless ``TEST_DATABASE_NAME`` says otherwise). Prints
figures; asserts nothing about time.

    .venv/bin/python bench/bench_mqtt_ingest.py [--messages 200000] [--devices 1000]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_telemetry")

import django  # noqa: E402

django.setup()

import paho.mqtt.client as paho  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import CustomerAccount  # noqa: E402
from meters.models import Meter, MeterKind, Reading  # noqa: E402
from meters.telemetry import supervision  # noqa: E402
from meters.telemetry.models import Device  # noqa: E402
from tests.servers import free_port  # noqa: E402


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\nlog_dest none\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([binary, "-c", str(config)])
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return broker, port
        time.sleep(0.05)
    raise SystemExit("the benchmark's Mosquitto did not start")


def make_devices(count: int) -> list[Device]:
    account = CustomerAccount.objects.create(
        account_number="BENCHT000001",
        owner_name="Bench",
        address="1 Bench Road",
        postcode="N1 9GU",
        area="N1",
        region="london",
        dwelling_type="terraced",
    )
    meters = Meter.objects.bulk_create(
        Meter(
            meter_id=f"BENCH-{index:06d}",
            account=account,
            address="1 Bench Road",
            postcode="N1 9GU",
            area="N1",
            region="london",
            dwelling_type="terraced",
            kind=MeterKind.LIVE,
            timezone="Europe/London",
        )
        for index in range(count)
    )
    return Device.objects.bulk_create(
        Device(topic=f"bench-{index:06d}", meter=meter, tele_period_seconds=10)
        for index, meter in enumerate(meters)
    )


class RawSubscriber:
    """The baseline: receive and json.loads, nothing else."""

    def __init__(self, port: int, topic: str, expected: int):
        self.expected = expected
        self.count = 0
        self.done = threading.Event()
        self.finished_at = None
        self.client = paho.Client(
            callback_api_version=paho.CallbackAPIVersion.VERSION2,
            client_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        )
        self.client.on_message = self.on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        self.subscribed.wait(10)

    def on_message(self, client, userdata, message):
        json.loads(message.payload)
        self.count += 1
        if self.count == self.expected:
            self.finished_at = time.perf_counter()
            self.done.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=settings.TELEMETRY_BATCH_SIZE)
    parser.add_argument("--flush-ms", type=int, default=settings.TELEMETRY_BATCH_FLUSH_MS)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most")
    options = parser.parse_args()
    rounds = max(1, options.messages // options.devices)
    total = rounds * options.devices

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    broker, port = start_broker(folder)
    ingest = None
    try:
        devices = make_devices(options.devices)
        root = f"bench{uuid.uuid4().hex[:6]}/tele"
        print(
            f"MQTT ingest benchmark: {total} SENSOR messages from {options.devices} devices, "
            f"batch {options.batch_size} / {options.flush_ms} ms, {os.cpu_count()} cores"
        )
        db = connection.settings_dict
        client_id = f"bench-ingest-{uuid.uuid4().hex[:6]}"
        env = os.environ | {
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
            f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "MQTT_URL": f"mqtt://127.0.0.1:{port}",
            "TELEMETRY_TOPIC_ROOT": root,
            "TELEMETRY_HEARTBEAT_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
        ingest = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "ingest_mqtt",
                "--client-id",
                client_id,
                "--batch-size",
                str(options.batch_size),
                "--flush-ms",
                str(options.flush_ms),
            ],
            cwd=ROOT,
            env=env,
        )
        key = supervision.HEARTBEAT_KEY.format(client_id=client_id)
        while not (cache.get(key) or {}).get("subscribed"):
            if ingest.poll() is not None:
                raise SystemExit("the ingest process exited")
            time.sleep(0.1)
        raw = RawSubscriber(port, f"{root}/#", total)

        start = timezone.now() - timedelta(seconds=10 * rounds + 60)
        tz = timezone.get_default_timezone()
        payloads = [
            (
                f"{root}/{device.topic}/SENSOR",
                json.dumps(
                    {
                        "Time": (start + timedelta(seconds=10 * r))
                        .astimezone(tz)
                        .strftime("%Y-%m-%dT%H:%M:%S"),
                        "MT681": {
                            "Total_in": round(1000 + r * 0.0123, 4),
                            "Power_cur": 400 + r % 97,
                            "Total_out": 12.5,
                        },
                    }
                ),
            )
            for r in range(rounds)
            for device in devices
        ]
        publisher = paho.Client(
            callback_api_version=paho.CallbackAPIVersion.VERSION2, client_id="bench-publisher"
        )
        publisher.max_inflight_messages_set(1000)
        publisher.connect("127.0.0.1", port)
        publisher.loop_start()
        began = time.perf_counter()
        infos = [publisher.publish(topic, payload, qos=1) for topic, payload in payloads]
        for info in infos:
            info.wait_for_publish(timeout=600)
        published = time.perf_counter() - began
        print(f"  published in {published:.1f} s ({total / published:,.0f} msg/s)")

        raw.done.wait(options.timeout)
        raw_seconds = (raw.finished_at or time.perf_counter()) - began
        print(
            f"  bare paho subscriber (json.loads only): {raw.count} received, "
            f"{raw.count / raw_seconds:,.0f} msg/s"
        )
        deadline = time.monotonic() + options.timeout
        stored = 0
        while time.monotonic() < deadline:
            stored = Reading.objects.count()
            if stored >= total:
                break
            time.sleep(0.25)
        ingest_seconds = time.perf_counter() - began
        print(
            f"  ingest_mqtt end to end: {stored} of {total} persisted, "
            f"{stored / ingest_seconds:,.0f} msg/s ({ingest_seconds:.1f} s)"
        )
        print(
            f"  ratio to raw: {(stored / ingest_seconds) / (raw.count / raw_seconds):.3f}; "
            f"lost: {total - stored}"
        )
        beat = cache.get(key) or {}
        print(f"  last batch latency: {beat.get('last_batch_ms')} ms; totals: {beat.get('totals')}")
        publisher.disconnect()
        publisher.loop_stop()
        raw.client.disconnect()
        raw.client.loop_stop()
    finally:
        if ingest is not None and ingest.poll() is None:
            ingest.send_signal(signal.SIGTERM)
            ingest.wait(30)
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
