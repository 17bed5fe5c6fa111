"""Battery telemetry and monitoring throughput, against the real PostgreSQL and Mosquitto.

Measures, over a fleet of ``--batteries`` units (default 10,000):

1. readings stored per second through the bulk endpoint (``POST /api/v1/batteries/telemetry``,
   in-process through the whole Django/DRF stack, ``--batch`` readings per request);
2. readings stored per second through MQTT: ``--mqtt-messages`` messages published with QoS 1 to
   ``<root>/<identifier>/telemetry`` on the broker by a separate process (the units), received by
   a subscriber that hands them in batches to ``batteries.mqtt.handle_telemetry_batch`` (what the
   ingest process does), timed from the first publish until the last reading is stored, and the
   same readings over the time spent in ``handle_telemetry_batch`` alone;
3. one monitoring pass over the whole fleet (``services.monitoring_run``), ``--passes`` times,
   with 5 % of the fleet breaking some rule; and one rule-evaluation pass.

Every stored reading also runs the monitoring rules for its batch's batteries, as in production.
A new alert's notification (mail, webhooks) is a Celery task sent after commit: here, as in
production, it goes to the broker (``REDIS_URL``; the bench purges the queue at the end) for a
worker, where the test settings would run it inline in the ingest; ``--inline-tasks`` measures
that way (as the bench did before 2026-12-04). It runs on a throw-away database
(``bench_batteries`` unless ``TEST_DATABASE_NAME`` says otherwise) created and dropped by the
script. Prints figures; asserts nothing about time.

    .venv/bin/python bench/bench_battery_telemetry.py [--batteries 10000] [--rounds 3]
"""

import argparse
import json
import multiprocessing
import os
import queue
import statistics
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_batteries")

import django

django.setup()

import paho.mqtt.client as paho  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import CustomerAccount, Role, User  # noqa: E402
from batteries import mqtt, services  # noqa: E402
from batteries.models import (  # noqa: E402
    Battery,
    BatteryReading,
    IdentifierCounter,
    InstructionRule,
)
from config.celery import app as celery_app  # noqa: E402

PREFIXES = ["N1", "E8", "SW1A", "M1", "LS1", "B1", "G1", "CF10", "BS1", "NE1"]


def make_fleet(size: int) -> list[Battery]:
    account = CustomerAccount.objects.create(
        account_number="BENCH0000001",
        owner_name="Bench",
        address="1 Bench Road",
        postcode="N1 9GU",
        area="N1",
        region="london",
        dwelling_type="terraced",
    )
    batteries, counters = [], {}
    for index in range(size):
        prefix = PREFIXES[index % len(PREFIXES)]
        counters[prefix] = counters.get(prefix, 0) + 1
        batteries.append(
            Battery(
                identifier=services.identifier_format(
                    prefix=prefix, number=counters[prefix], capacity_kwh=Decimal(10)
                ),
                account=account,
                location="Garage",
                postcode="N1 9GU",
                capacity_kwh=Decimal(10),
                vendor="Acme",
                model="PowerBox 10",
            )
        )
    Battery.objects.bulk_create(batteries, batch_size=5000)
    IdentifierCounter.objects.bulk_create(
        [IdentifierCounter(prefix=p, last_value=n) for p, n in counters.items()]
    )
    return list(Battery.objects.order_by("identifier"))


def reading(index: int, at) -> dict:
    abnormal = index % 20 == 0  # 5 % of the fleet breaks a rule
    return {
        "timestamp": at.isoformat(),
        "soc_percent": 5 if abnormal else 40 + index % 50,
        "power_kw": -2.5 if index % 2 else 1.5,
        "voltage_v": 51.2,
        "temperature_c": 48 if abnormal else 25,
        "status": "charging" if index % 2 else "discharging",
        "flag": "ok",
    }


def bench_bulk_endpoint(batteries, rounds: int, batch: int) -> tuple[int, float]:
    staff = User.objects.create_user("bench-staff@example.com", role=Role.STAFF)
    client = APIClient()
    key = account_services.token_create(user=staff, name="bench").key
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    start_at = timezone.now() - timedelta(minutes=rounds + 1)
    total, started = 0, time.perf_counter()
    for round_number in range(rounds):
        at = start_at + timedelta(minutes=round_number)
        items = [
            {"battery": battery.identifier, **reading(i, at)} for i, battery in enumerate(batteries)
        ]
        for offset in range(0, len(items), batch):
            response = client.post(
                "/api/v1/batteries/telemetry", {"readings": items[offset : offset + batch]}
            )
            if response.status_code != 200:
                raise SystemExit(f"bulk endpoint answered {response.status_code}: {response.data}")
            total += response.data["stored"]
    return total, time.perf_counter() - started


def _mqtt_client(name: str) -> paho.Client:
    c = paho.Client(
        callback_api_version=paho.CallbackAPIVersion.VERSION2,
        client_id=f"{name}-{uuid.uuid4().hex[:8]}",
    )
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", 1883)
    c.loop_start()
    return c


# Mosquitto queues at most 1000 QoS 1 messages per subscriber (max_queued_messages) and drops the
# rest: the units keep fewer than this many unreceived messages in flight.
IN_FLIGHT = 800


def _publish(identifiers: list[str], messages: int, at, received) -> None:
    """The units: a process of their own (they are not in the ingest process), publishing QoS 1
    telemetry as fast as the broker's queue for the subscriber allows."""
    publisher = _mqtt_client("bench-pub")
    sent = []
    for number in range(messages):
        while number - received.value >= IN_FLIGHT:
            time.sleep(0.001)
        when = at + timedelta(seconds=number // len(identifiers))
        sent.append(
            publisher.publish(
                mqtt.telemetry_topic(identifiers[number % len(identifiers)]),
                json.dumps(reading(number, when)),
                qos=1,
            )
        )
    for info in sent:
        info.wait_for_publish(timeout=60)
    publisher.disconnect()
    publisher.loop_stop()


def bench_mqtt(batteries, messages: int, batch: int) -> tuple[int, float, float]:
    """Readings stored, seconds from the first publish to the last reading stored, and seconds
    spent in ``handle_telemetry_batch``."""
    root = f"bench-{uuid.uuid4().hex[:8]}/batteries"
    settings.BATTERIES_MQTT_TOPIC_ROOT = root
    inbox: queue.Queue = queue.Queue()
    ready: queue.Queue = queue.Queue()
    subscriber = _mqtt_client("bench-sub")
    received = multiprocessing.get_context("fork").Value("q", 0, lock=False)

    def on_message(c, u, message):
        received.value += 1
        inbox.put((message.topic.split("/")[-2], message.payload, timezone.now()))

    subscriber.on_message = on_message
    subscriber.on_subscribe = lambda c, u, mid, codes, props: ready.put(mid)
    subscriber.subscribe(mqtt.telemetry_topic("+"), qos=1)
    ready.get(timeout=10)

    at = timezone.now() - timedelta(minutes=5)
    # Forked before any use of the database in this function; the child never touches the
    # inherited connection and leaves with os._exit (multiprocessing's way), closing nothing.
    units = multiprocessing.get_context("fork").Process(
        target=_publish, args=([b.identifier for b in batteries], messages, at, received)
    )
    started = time.perf_counter()
    units.start()
    stored, handling = 0, 0.0
    while stored < messages:
        pending = [inbox.get(timeout=30)]
        while len(pending) < batch:
            try:
                pending.append(inbox.get(timeout=0.05))
            except queue.Empty:
                break
        handling_started = time.perf_counter()
        result, errors = mqtt.handle_telemetry_batch(pending)
        handling += time.perf_counter() - handling_started
        if errors:
            raise SystemExit(f"bad messages: {errors[:3]}")
        stored += result.stored + result.duplicates
    elapsed = time.perf_counter() - started
    units.join(timeout=60)
    subscriber.disconnect()
    subscriber.loop_stop()
    return stored, elapsed, handling


def bench_monitoring(passes: int) -> list[float]:
    # Every battery online and seen just now, so the pass evaluates every rule over the fleet.
    Battery.objects.update(last_seen=timezone.now(), status="charging")
    timings = []
    for _ in range(passes):
        started = time.perf_counter()
        services.monitoring_run()
        timings.append(time.perf_counter() - started)
    return timings


def bench_rules(batteries) -> float:
    InstructionRule.objects.create(
        name="bench: charge when low", identifier_prefix="N1-", priority=5, soc_below=30,
        action="charge", power_kw=Decimal(3),
    )  # fmt: skip
    InstructionRule.objects.create(
        name="bench: hold otherwise", identifier_prefix="E8-", priority=1, action="hold"
    )
    settings.MQTT_URL = "mqtt://127.0.0.1:1883"
    started = time.perf_counter()
    counts = services.rules_evaluate()
    elapsed = time.perf_counter() - started
    print(f"  rule pass: {counts}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batteries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="bulk readings per battery")
    parser.add_argument("--batch", type=int, default=1000, help="readings per request/batch")
    parser.add_argument("--mqtt-messages", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=5, help="monitoring passes")
    parser.add_argument(
        "--inline-tasks",
        action="store_true",
        help="run Celery tasks (alert notifications) inline, as the test settings do",
    )
    options = parser.parse_args()
    celery_app.conf.task_always_eager = options.inline_tasks

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(
            f"battery telemetry benchmark: {options.batteries} batteries, {os.cpu_count()} cores, "
            f"Celery tasks {'inline' if options.inline_tasks else 'to the broker'}, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        started = time.perf_counter()
        batteries = make_fleet(options.batteries)
        print(f"  fleet created in {time.perf_counter() - started:.1f} s (setup, not measured)")

        stored, elapsed = bench_bulk_endpoint(batteries, options.rounds, options.batch)
        print(
            f"bulk endpoint: {stored} readings in {elapsed:.1f} s = {stored / elapsed:,.0f} "
            f"readings/s ({options.batch} per request)"
        )
        stored, elapsed, handling = bench_mqtt(batteries, options.mqtt_messages, options.batch)
        print(
            f"MQTT (QoS 1 publish -> handle_telemetry_batch): {stored} readings in "
            f"{elapsed:.1f} s = {stored / elapsed:,.0f} readings/s; in handle_telemetry_batch "
            f"{handling:.1f} s = {stored / handling:,.0f} readings/s"
        )
        timings = bench_monitoring(options.passes)
        print(
            f"monitoring pass over {options.batteries} batteries: median "
            f"{statistics.median(timings):.3f} s (min {min(timings):.3f}, max "
            f"{max(timings):.3f}, {options.passes} passes; target < 2 s)"
        )
        print(f"rule evaluation pass: {bench_rules(batteries):.3f} s (including QoS 1 delivery)")
        print(f"  history rows: {BatteryReading.objects.count()}")
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if not options.inline_tasks:
            celery_app.control.purge()


if __name__ == "__main__":
    main()
