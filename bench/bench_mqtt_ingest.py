"""MQTT telemetry ingest, end to end, against real Mosquitto and PostgreSQL.

Publishes ``--messages`` Tasmota SENSOR messages (QoS 1) from ``--devices`` devices and measures,
in the same run:

- the raw receive rate of a bare paho subscriber (QoS 1, ``json.loads`` only, nothing stored);
- the end-to-end rate of ``manage.py ingest_mqtt`` (real processes: batches, meters' bulk ingest,
  acknowledgement after commit): messages persisted per second until the last reading is in the
  database; and that none was lost.

``--code-root PATH`` runs the ingest processes from another checkout of the same schema (the
reference, e.g. main's code, read-only), the rest of the benchmark staying the same. Besides the
end-to-end rate (clock started when the subscribers come back, so a process's start-up counts),
the steady rate counts from the first reading stored to the last.

``--readings-today N`` first stores N readings of today for every meter (with their roll-ups), so
the run sees what a live fleet sees every evening. ``--processes N`` runs N ingest processes on one
shared subscription. ``--backlog`` publishes everything while the subscribers are away (their
persistent sessions queue it) and then measures how fast each drains the backlog: the raw rate is
then the subscriber's own, not the publisher's.

Runs its own Mosquitto on a free port with unlimited queues (Mosquitto's defaults, 1,000 queued
and 20 in flight per client, drop QoS 1 messages when a subscriber falls behind a burst), and a
throw-away database (``bench_telemetry`` unless ``TEST_DATABASE_NAME`` says otherwise). Prints
figures; asserts nothing about time.

    .venv/bin/python bench/bench_mqtt_ingest.py [--messages 200000] [--devices 1000]
        [--readings-today 4000] [--processes 1] [--backlog] [--code-root /path/to/checkout]
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
from meters import services as meter_services  # noqa: E402
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
        self.port = port
        self.expected = expected
        self.count = 0
        self.done = threading.Event()
        self.finished_at = None
        # A persistent session, so a backlog run can queue messages for it while it is away.
        self.client = paho.Client(
            callback_api_version=paho.CallbackAPIVersion.VERSION2,
            client_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
            clean_session=False,
        )
        self.client.on_message = self.on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        self.subscribed.wait(10)

    def away(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def back(self) -> None:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def on_message(self, client, userdata, message):
        json.loads(message.payload)
        self.count += 1
        if self.count == self.expected:
            self.finished_at = time.perf_counter()
            self.done.set()


PUBLISH_WINDOW = 50_000


def preload_today(devices: list[Device], per_meter: int, before) -> int:
    """Store ``per_meter`` 10-second readings of today before ``before`` for every device's meter
    (one INSERT ... SELECT), then compute their roll-ups as ingest keeps them. Returns how many
    readings each meter got (fewer just after midnight)."""
    midnight = timezone.localtime(before).replace(hour=0, minute=0, second=0, microsecond=0)
    per_meter = max(0, min(per_meter, int((before - midnight).total_seconds() // 10) - 1))
    if not per_meter:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Reading._meta.db_table} (meter_id, at, import_kwh, source, quality, "  # noqa: S608
            "register_reset) SELECT m, %s - make_interval(secs => 10 * (%s - s)), "
            "1000 - 0.001 * (%s - s), 'mqtt', 'actual', false "
            "FROM unnest(%s::bigint[]) AS m, generate_series(0, %s - 1) AS s",
            [before, per_meter, per_meter, [d.meter_id for d in devices], per_meter],
        )
    day = timezone.localdate(before)
    for device in devices:
        meter_services.daily_usage_refresh(meter=device.meter, days={day})
    return per_meter


def start_ingest(env: dict, client_id: str, options) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(Path(options.code_root) / "manage.py"),
            "ingest_mqtt",
            "--client-id",
            client_id,
            "--batch-size",
            str(options.batch_size),
            "--flush-ms",
            str(options.flush_ms),
        ],
        cwd=options.code_root,
        env=env,
    )


def wait_subscribed(ingests: list[subprocess.Popen], client_ids: list[str]) -> None:
    for ingest, client_id in zip(ingests, client_ids, strict=True):
        key = supervision.HEARTBEAT_KEY.format(client_id=client_id)
        while not (cache.get(key) or {}).get("subscribed"):
            if ingest.poll() is not None:
                raise SystemExit("an ingest process exited")
            time.sleep(0.1)


def stop(ingests: list[subprocess.Popen]) -> None:
    for ingest in ingests:
        if ingest.poll() is None:
            ingest.send_signal(signal.SIGTERM)
    for ingest in ingests:
        ingest.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--readings-today", type=int, default=0, help="stored first, per meter")
    parser.add_argument("--processes", type=int, default=1, help="ingest processes, one group")
    parser.add_argument("--backlog", action="store_true", help="publish first, then drain")
    parser.add_argument("--batch-size", type=int, default=settings.TELEMETRY_BATCH_SIZE)
    parser.add_argument("--flush-ms", type=int, default=settings.TELEMETRY_BATCH_FLUSH_MS)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most")
    parser.add_argument(
        "--code-root", default=str(ROOT), help="checkout the ingest processes run from"
    )
    options = parser.parse_args()
    rounds = max(1, options.messages // options.devices)
    total = rounds * options.devices

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    broker, port = start_broker(folder)
    ingests: list[subprocess.Popen] = []
    try:
        devices = make_devices(options.devices)
        start = timezone.now() - timedelta(seconds=10 * rounds + 60)
        began = time.perf_counter()
        stored_before = preload_today(devices, options.readings_today, start)
        preloaded = Reading.objects.count()
        root = f"bench{uuid.uuid4().hex[:6]}/tele"
        print(
            f"MQTT ingest benchmark: {total} SENSOR messages from {options.devices} devices "
            f"holding {stored_before} readings of today each ({preloaded} rows, stored in "
            f"{time.perf_counter() - began:.0f} s), {options.processes} ingest process(es), "
            f"batch {options.batch_size} / {options.flush_ms} ms, "
            f"{'backlog drained' if options.backlog else 'live'}, {os.cpu_count()} cores, "
            f"ingest from {options.code_root}, load {os.getloadavg()[0]:.1f}"
        )
        db = connection.settings_dict
        client_ids = [f"bench-ingest-{uuid.uuid4().hex[:6]}" for _ in range(options.processes)]
        env = os.environ | {
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
            f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "MQTT_URL": f"mqtt://127.0.0.1:{port}",
            "MQTT_SHARED_GROUP": "bench" if options.processes > 1 else "",
            "TELEMETRY_TOPIC_ROOT": root,
            "TELEMETRY_HEARTBEAT_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
        ingests = [start_ingest(env, client_id, options) for client_id in client_ids]
        wait_subscribed(ingests, client_ids)
        raw = RawSubscriber(port, f"{root}/#", total)
        if options.backlog:
            # Their sessions stay on the broker, which queues what is published meanwhile.
            stop(ingests)
            raw.away()

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
                            "Total_in": round(1000 + (r + 1) * 0.0123, 4),
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
        published_began = time.perf_counter()
        # paho numbers messages in flight 1-65535: keep fewer than that unacknowledged.
        infos = []
        for topic, payload in payloads:
            if len(infos) >= PUBLISH_WINDOW:
                infos[-PUBLISH_WINDOW].wait_for_publish(timeout=600)
            infos.append(publisher.publish(topic, payload, qos=1))
        for info in infos[-PUBLISH_WINDOW:]:
            info.wait_for_publish(timeout=600)
        published = time.perf_counter() - published_began
        print(f"  published in {published:.1f} s ({total / published:,.0f} msg/s)")

        began = published_began
        if options.backlog:
            began = time.perf_counter()
            raw.back()
            ingests = [start_ingest(env, client_id, options) for client_id in client_ids]
        raw.done.wait(options.timeout)
        raw_seconds = (raw.finished_at or time.perf_counter()) - began
        print(
            f"  bare paho subscriber (json.loads only): {raw.count} received, "
            f"{raw.count / raw_seconds:,.0f} msg/s"
        )
        deadline = time.monotonic() + options.timeout
        stored = 0
        first = None  # (time, count) when the first readings were seen stored
        while time.monotonic() < deadline:
            stored = Reading.objects.count() - preloaded
            if stored and first is None:
                first = (time.perf_counter(), stored)
            if stored >= total:
                break
            time.sleep(0.1)
        finished = time.perf_counter()
        ingest_seconds = finished - began
        print(
            f"  ingest_mqtt end to end: {stored} of {total} persisted, "
            f"{stored / ingest_seconds:,.0f} msg/s ({ingest_seconds:.1f} s)"
        )
        if first and finished > first[0]:
            print(
                f"  steady (first stored reading to the last): "
                f"{(stored - first[1]) / (finished - first[0]):,.0f} msg/s "
                f"({finished - first[0]:.1f} s; first readings {first[0] - began:.1f} s in)"
            )
        print(
            f"  ratio to raw: {(stored / ingest_seconds) / (raw.count / raw_seconds):.3f}; "
            f"lost: {total - stored}"
        )
        for client_id in client_ids:
            beat = cache.get(supervision.HEARTBEAT_KEY.format(client_id=client_id)) or {}
            print(
                f"  {client_id}: last batch {beat.get('last_batch_ms')} ms; "
                f"totals {beat.get('totals')}"
            )
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
        publisher.disconnect()
        publisher.loop_stop()
        raw.away()
    finally:
        stop(ingests)
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
