"""Bytes per stored reading on PostgreSQL: interval (half-hourly) and live (MQTT) readings.

Sets up a throw-away database (``bench_meters_storage`` unless ``TEST_DATABASE_NAME`` says
otherwise) with the project's migrations, COPYs ``--rows`` half-hourly interval readings (a year
per meter, as a REST meter sends them), measures the readings table and each of its indexes,
empties it, then COPYs ``--rows`` live readings (10-second Tasmota readings with power, as the
ingest stores a message that has its own Time: no diagnostic) and measures again. Sizes are read
after ``VACUUM ANALYZE`` (heap, TOAST and every index, as ``pg_total_relation_size`` counts them).
Issue #16's targets: <= 48 bytes per interval reading, <= 64 bytes per live reading, indexes
included.

Then (unless ``--migration-rows 0``) it times migration 0006 on a populated database: meters
back to 0005, ``--migration-rows`` live readings COPYed in 0005's shape (``raw`` in every row,
as the ingest stored them before), and the migration forward. Asserts nothing; prints the figures.

    .venv/bin/python bench/bench_meters_storage.py [--rows 1000000] [--migration-rows 1000000]
"""

import argparse
import io
import json
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_meters_storage")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from accounts.models import CustomerAccount  # noqa: E402
from meters.models import Meter, Reading  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
HALF_HOURS_A_YEAR = 365 * 48
LIVE_PER_METER = 8_640  # a day of 10-second readings
TABLE = Reading._meta.db_table


def add_meters(count: int, account: CustomerAccount, kind: str) -> list[Meter]:
    return Meter.objects.bulk_create(
        Meter(
            meter_id=f"S{kind[0].upper()}{number:07d}",
            account=account,
            address="1 Bench Street",
            postcode="N1 9GU",
            area="N1",
            region="london",
            dwelling_type="terraced",
            kind=kind,
            timezone="Europe/London",
        )
        for number in range(count)
    )


def _copy(columns: str, rows) -> float:
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {TABLE} ({columns}) FROM STDIN") as copy,
    ):
        buffer = io.StringIO()
        for count, row in enumerate(rows, 1):
            buffer.write(row)
            if count % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return time.perf_counter() - started


def interval_rows(meters: list[Meter], total: int):
    produced = 0
    for meter in meters:
        for n in range(HALF_HOURS_A_YEAR):
            if produced == total:
                return
            at = (START + timedelta(minutes=30 * n)).isoformat()
            value = 1000 + 0.3 * n + 0.2 * math.sin(n / 10)
            yield f"{meter.pk}\t{at}\t{value:.4f}\tapi\tactual\tf\tf\n"
            produced += 1


def live_rows(meters: list[Meter], total: int, *, with_raw: bool):
    """What ``ingest_mqtt`` stores for a Tasmota SENSOR message; ``with_raw``: as it did before
    migration 0006 (the whole payload in every row)."""
    produced = 0
    for meter in meters:
        device = f"tele/tasmota_{meter.pk:06X}"
        for n in range(LIVE_PER_METER):
            if produced == total:
                return
            at = START + timedelta(seconds=10 * n)
            local = at.strftime("%Y-%m-%dT%H:%M:%S")
            total_kwh = 1000 + n * 0.0012
            power = 300 + int(200 * (1 + math.sin(n / 300)))
            row = f"{meter.pk}\t{at.isoformat()}\t{total_kwh:.4f}\t{power}\tmqtt\tactual\tf\tf"
            if with_raw:
                row += "\t" + _old_raw(device, local, total_kwh, power, n)
            yield row + "\n"
            produced += 1


def _old_raw(device: str, local: str, total_kwh: float, power: int, n: int) -> str:
    payload = json.dumps(
        {
            "Time": local,
            "ENERGY": {
                "TotalStartTime": "2024-03-01T10:00:00",
                "Total": round(total_kwh, 3),
                "Yesterday": 8.412,
                "Today": round(n * 0.0012, 3),
                "Power": power,
                "ApparentPower": power + 20,
                "ReactivePower": 40,
                "Factor": 0.95,
                "Voltage": 231,
                "Current": round(power / 231, 3),
            },
        },
        separators=(",", ":"),
    )
    raw = json.dumps({"device": device, "time_source": "device", "time": local, "payload": payload})
    return raw.replace("\\", "\\\\")


def sizes() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
        cursor.execute(
            "SELECT pg_relation_size(%s), "
            "coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class WHERE relname = %s",
            [TABLE, TABLE],
        )
        heap, toast = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass ORDER BY 1",
            [TABLE],
        )
        indexes = cursor.fetchall()
    return [("heap", heap), ("toast", toast), *[(f"index {n}", s) for n, s in indexes]]


def report(label: str, rows: int, loaded_s: float) -> None:
    parts = sizes()
    total = sum(size for _, size in parts)
    print(f"\n{label}: {rows:,} rows, COPY {rows / loaded_s:,.0f} rows/s")
    for name, size in parts:
        print(f"  {name:<58} {size / 2**20:9.1f} MiB {size / rows:7.1f} B/row")
    print(f"  {'total':<58} {total / 2**20:9.1f} MiB {total / rows:7.1f} B/row")


BEFORE_0006 = [("meters", "0005_reading_export_register_reset")]


def time_the_migration(live: list[Meter], columns: str, rows: int) -> None:
    """Migration 0006 on ``rows`` live readings stored as 0005 stored them (raw in each)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_0006)
    live = live + add_meters_more(live, math.ceil(rows / LIVE_PER_METER) - len(live))
    _copy(columns + ", raw", live_rows(live, rows, with_raw=True))
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
    executor = MigrationExecutor(connection)
    started = time.perf_counter()
    executor.migrate(executor.loader.graph.leaf_nodes())
    took = time.perf_counter() - started
    print(
        f"\nmigration 0006 on {rows:,} live readings with raw: {took:.1f} s "
        f"({took / rows * 1e6:.1f} s per million readings)"
    )


def add_meters_more(existing: list[Meter], count: int) -> list[Meter]:
    if count <= 0:
        return []
    account = existing[0].account
    return Meter.objects.bulk_create(
        Meter(
            meter_id=f"SM{number:07d}",
            account=account,
            address="1 Bench Street",
            postcode="N1 9GU",
            area="N1",
            region="london",
            dwelling_type="terraced",
            kind="live",
            timezone="Europe/London",
        )
        for number in range(count)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--migration-rows", type=int, default=1_000_000)
    options = parser.parse_args()
    rows = options.rows

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        print(f"meters storage benchmark, PostgreSQL {version}, {os.cpu_count()} cores")
        account = CustomerAccount.objects.create(
            account_number="HG00000003",
            owner_name="Bench",
            address="1 Bench Street",
            postcode="N1 9GU",
            area="N1",
            region="london",
            dwelling_type="terraced",
        )
        meters = add_meters(math.ceil(rows / HALF_HOURS_A_YEAR), account, "interval")
        columns = "meter_id, at, import_kwh, source, quality, register_reset, export_register_reset"
        loaded = _copy(columns, interval_rows(meters, rows))
        report("interval readings (half-hourly, REST)", rows, loaded)

        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLE}")
        live = add_meters(math.ceil(rows / LIVE_PER_METER), account, "live")
        columns = columns.replace("import_kwh,", "import_kwh, power_w,")
        loaded = _copy(columns, live_rows(live, rows, with_raw=False))
        report("live readings (10-second Tasmota over MQTT)", rows, loaded)
        if options.migration_rows:
            time_the_migration(live, columns, options.migration_rows)
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
