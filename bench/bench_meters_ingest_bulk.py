"""Meter readings through the bulk endpoint of a real daphne process, next to a raw psycopg COPY
of the same rows into the same table, in one run.

Sets up a throw-away PostgreSQL database (``bench_meters`` unless ``TEST_DATABASE_NAME`` says
otherwise), ``--meters`` interval meters and a staff token; starts ``daphne`` on a free loopback
port against that database; POSTs ``--readings`` half-hourly readings to
``/api/v1/readings/bulk`` in requests of ``--batch`` (default 10,000: ``--batch / --per-meter``
meters x ``--per-meter`` consecutive half-hours each), one request at a time, every rule checked
and daily roll-ups kept as in production. Then empties the table and COPYs the same rows straight
in with psycopg, and prints both rates and their ratio (target >= 0.3, #16 §3). Asserts nothing.

Also the CPU each side spent (from /proc: the daphne process and its PostgreSQL backends for the
endpoint; this process and its backend for the COPY), a figure that the other work on a shared
machine disturbs far less than wall-clock rates.

    .venv/bin/python bench/bench_meters_ingest_bulk.py [--readings 1000000] [--meters 2000]
"""

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_meters")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from accounts.models import CustomerAccount  # noqa: E402
from accounts.tests.factories import StaffFactory, api_key_for  # noqa: E402
from meters.models import DailyUsage, Meter, Reading  # noqa: E402
from tests.servers import Daphne, database_url  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)


def make_meters(count: int) -> list[str]:
    account = CustomerAccount.objects.create(
        account_number="HG00000001",
        owner_name="Bench",
        address="1 Bench Street",
        postcode="N1 9GU",
        area="N1",
        region="london",
        dwelling_type="terraced",
    )
    Meter.objects.bulk_create(
        Meter(
            meter_id=f"B{number:07d}",
            account=account,
            address="1 Bench Street",
            postcode="N1 9GU",
            area="N1",
            region="london",
            dwelling_type="terraced",
            timezone="Europe/London",
        )
        for number in range(count)
    )
    return list(Meter.objects.order_by("meter_id").values_list("meter_id", flat=True))


def batches(meter_ids: list[str], total: int, batch: int, per_meter: int):
    """Request bodies: each a block of meters with ``per_meter`` consecutive half-hours; the
    blocks walk through the meters, then on in time."""
    meters_per_batch = batch // per_meter
    sent, round_number = 0, 0
    while sent < total:
        for offset in range(0, len(meter_ids), meters_per_batch):
            if sent >= total:
                return
            start = START + timedelta(minutes=30 * per_meter * round_number)
            items = []
            for meter_number, meter_id in enumerate(meter_ids[offset : offset + meters_per_batch]):
                base = Decimal(1000 + meter_number) + Decimal(round_number * per_meter) / 4
                for step in range(per_meter):
                    items.append(
                        {
                            "meter_id": meter_id,
                            "at": (start + timedelta(minutes=30 * step)).isoformat(),
                            "import_kwh": str(base + Decimal(step) / 4),
                        }
                    )
            items = items[: total - sent]
            sent += len(items)
            yield items
        round_number += 1


def start_daphne(database: str) -> Daphne:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url(connection.settings_dict, database),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "THROTTLE_USER": "1000000/min",
    }
    return Daphne(env).start()


def post(base_url: str, key: str, body: bytes) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/v1/readings/bulk",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Token {key}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def other_backends() -> dict[int, float]:
    """The CPU so far of this database's PostgreSQL backends other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid: cpu_seconds(pid) for (pid,) in cursor.fetchall()}


def own_backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def empty_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Reading._meta.db_table}, {DailyUsage._meta.db_table}")


def copy_rows(bodies: list[bytes], meter_pks: dict[str, int]) -> tuple[int, float, float]:
    """The rows COPYed, the seconds it took and the CPU it cost (this process and its
    backend)."""
    rows = [
        (meter_pks[item["meter_id"]], item["at"], item["import_kwh"], "api", "actual", False)
        for body in bodies
        for item in json.loads(body)["readings"]
    ]
    backend = own_backend()
    cpu_before = cpu_seconds(backend) + time.process_time()
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {Reading._meta.db_table} (meter_id, at, import_kwh, source, quality, "
            "register_reset) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    connection.commit() if not connection.get_autocommit() else None
    elapsed = time.perf_counter() - started
    return len(rows), elapsed, cpu_seconds(backend) + time.process_time() - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--meters", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument(
        "--per-meter", type=int, default=48, help="half-hours per meter per request"
    )
    options = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    daphne = None
    try:
        meter_ids = make_meters(options.meters)
        key = api_key_for(StaffFactory())
        bodies = [
            json.dumps({"readings": items}).encode()
            for items in batches(meter_ids, options.readings, options.batch, options.per_meter)
        ]
        daphne = start_daphne(database)
        print(
            f"meters bulk ingest: {options.readings:,} readings, {options.meters} meters, "
            f"{options.batch} per request ({options.per_meter} half-hours x "
            f"{options.batch // options.per_meter} meters), {os.cpu_count()} cores, daphne on "
            f"{daphne.url}"
        )
        latencies = []
        accepted = 0
        backends_before, daphne_before = other_backends(), cpu_seconds(daphne.process.pid)
        # Under daphne each request runs in a thread of its own, so with a connection of its
        # own (a new backend per request, left idle until its thread's connection is
        # collected): each backend's CPU is read after every request, not only at the end.
        backends_seen: dict[int, float] = {}
        polling = 0.0
        started = time.perf_counter()
        for body in bodies:
            sent = time.perf_counter()
            answer = post(daphne.url, key, body)
            latencies.append(time.perf_counter() - sent)
            accepted += answer["accepted"]
            if answer["rejected"]:
                first = next(r for r in answer["results"] if r["status"] == "rejected")
                raise SystemExit(f"rejected items: {first}")
            polled = time.perf_counter()
            for pid, cpu in other_backends().items():
                backends_seen[pid] = max(cpu, backends_seen.get(pid, 0.0))
            polling += time.perf_counter() - polled
        api_elapsed = time.perf_counter() - started - polling
        daphne_cpu = cpu_seconds(daphne.process.pid) - daphne_before
        backends_cpu = sum(
            cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_seen.items()
        )
        print(f"daphne used {len(set(backends_seen) - set(backends_before))} new connections")
        stored = Reading.objects.count()
        api_rate = accepted / api_elapsed
        print(
            f"bulk endpoint: {accepted:,} accepted ({stored:,} stored, "
            f"{DailyUsage.objects.count():,} daily roll-ups) in {api_elapsed:.1f} s = "
            f"{api_rate:,.0f} readings/s; request median {statistics.median(latencies) * 1000:.0f}"
            f" ms, max {max(latencies) * 1000:.0f} ms"
        )
        daphne.stop()
        daphne = None
        empty_tables()
        meter_pks = dict(Meter.objects.values_list("meter_id", "pk"))
        copied, copy_elapsed, copy_cpu = copy_rows(bodies, meter_pks)
        copy_rate = copied / copy_elapsed
        print(
            f"raw psycopg COPY: {copied:,} rows in {copy_elapsed:.1f} s = {copy_rate:,.0f} rows/s"
        )
        per_10k = 10_000 / accepted * 1000
        print(
            f"CPU per 10,000 readings: endpoint {(daphne_cpu + backends_cpu) * per_10k:.0f} ms "
            f"(daphne {daphne_cpu * per_10k:.0f}, PostgreSQL {backends_cpu * per_10k:.0f}); COPY "
            f"{copy_cpu * 10_000 / copied * 1000:.0f} ms (PostgreSQL and this client); "
            f"COPY / endpoint {copy_cpu / copied / ((daphne_cpu + backends_cpu) / accepted):.2f}"
        )
        print(f"ratio endpoint / COPY: {api_rate / copy_rate:.2f} (target >= 0.3)")
    finally:
        if daphne is not None:
            daphne.stop()
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
