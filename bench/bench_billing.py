"""A month's bills for many meters: ``billing.services.bills_generate`` end to end.

Sets up a throw-away PostgreSQL database (``bench_billing`` unless ``TEST_DATABASE_NAME`` says
otherwise) with ``--meters`` accounts of one meter each on one flat tariff, and for September
2026 synthetic daily roll-ups (30 per meter) and boundary readings at the local month ends (one
meter in 20 has no reading at the start, so its opening read is interpolated). Data is written
with SQL ``generate_series``. Then times the whole month's run (issuing every bill) and a second,
idempotent run, and prints accounts per second. Asserts nothing.

    .venv/bin/python bench/bench_billing.py [--meters 100000] [--repeat 1]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_billing")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from billing import services  # noqa: E402
from billing.models import Bill, BillLine, BillMeterRead, BillRun, LedgerEntry  # noqa: E402

MONTH = "2026-09"
# Europe/London, BST: 1 Sep 00:00 local = 31 Aug 23:00 UTC; 1 Oct 00:00 local = 30 Sep 23:00 UTC.
START_UTC = "2026-08-31 23:00:00+00"
END_UTC = "2026-09-30 23:00:00+00"


def make_data(meters: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_customeraccount (account_number, owner_name, address, postcode,"
            " area, region, dwelling_type, created_at, updated_at)"
            " SELECT 'BN' || lpad(n::text, 8, '0'), 'Bench ' || n, n || ' Bench Street', 'N1 9GU',"
            " 'N1', 'london', 'terraced', now(), now() FROM generate_series(1, %s) n",
            [meters],
        )
        cursor.execute(
            "INSERT INTO meters_meter (meter_id, account_id, address, postcode, area, region,"
            " dwelling_type, kind, timezone, status, created_at, updated_at)"
            " SELECT 'BM' || lpad(a.id::text, 8, '0'), a.id, a.address, a.postcode, a.area,"
            " a.region, a.dwelling_type, 'interval', 'Europe/London', 'active', now(), now()"
            " FROM accounts_customeraccount a"
        )
        cursor.execute(
            "INSERT INTO billing_tariff (name, code, is_public, import_dynamic, export_dynamic,"
            " currency, vat_rate, standing_charge_per_day, valid_from, created_at, updated_at)"
            " VALUES ('Bench flat', 'bench-flat', false, false, false, 'GBP', 0.05, 0.52,"
            " '2020-01-01', now(), now()) RETURNING id"
        )
        [tariff_id] = cursor.fetchone()
        cursor.execute(
            "INSERT INTO billing_tariffrate (tariff_id, band, kind, unit_rate, days, priority)"
            " VALUES (%s, 'Standard', 'standard', 0.28, '1234567', 0)",
            [tariff_id],
        )
        cursor.execute(
            "INSERT INTO billing_tariffassignment (account_id, tariff_id, starts_on, created_at)"
            " SELECT id, %s, '2020-01-01', now() FROM accounts_customeraccount",
            [tariff_id],
        )
        # Each meter uses 8 + id % 5 kWh a day, so its month is 30 x that.
        cursor.execute(
            "INSERT INTO meters_dailyusage (meter_id, day, import_kwh, readings,"
            " intervals_expected, first_at, last_at, is_partial, updated_at)"
            " SELECT m.id, d::date, 8 + m.id % 5, 48, 48,"
            " (d::timestamp AT TIME ZONE 'Europe/London') + interval '30 minutes',"
            " ((d + interval '1 day')::timestamp AT TIME ZONE 'Europe/London'), false, now()"
            " FROM meters_meter m, generate_series(date '2026-09-01', date '2026-09-30',"
            " interval '1 day') d",
        )
        cursor.execute(
            "INSERT INTO meters_reading (meter_id, at, import_kwh, source, quality,"
            " register_reset)"
            " SELECT m.id, timestamptz %s, 1000 + m.id, 'import', 'actual', false"
            " FROM meters_meter m WHERE m.id %% 20 <> 0"
            " UNION ALL"
            " SELECT m.id, timestamptz %s - interval '1 hour', 999 + m.id, 'import', 'actual',"
            " false FROM meters_meter m WHERE m.id %% 20 = 0"
            " UNION ALL"
            " SELECT m.id, timestamptz %s, 1000 + m.id + 30 * (8 + m.id %% 5), 'import',"
            " 'actual', false FROM meters_meter m",
            [START_UTC, START_UTC, END_UTC],
        )
        cursor.execute("ANALYZE")


def reset_bills() -> None:
    """No bills, runs or ledger entries (a bill on the ledger is protected from delete)."""
    tables = [
        model._meta.db_table for model in (BillLine, BillMeterRead, LedgerEntry, Bill, BillRun)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="Fresh runs to take a median of.")
    options = parser.parse_args()

    database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        began = time.perf_counter()
        make_data(options.meters)
        print(
            f"data: {options.meters} accounts/meters, {options.meters * 30} daily roll-ups "
            f"in {time.perf_counter() - began:.1f} s"
        )
        fresh, again = [], []
        for _ in range(options.repeat):
            reset_bills()
            began = time.perf_counter()
            _, summary = services.bills_generate(month=MONTH, issue=True, trigger="bench")
            fresh.append(time.perf_counter() - began)
            began = time.perf_counter()
            _, second = services.bills_generate(month=MONTH, issue=True, trigger="bench")
            again.append(time.perf_counter() - began)
        print(
            f"first run: {summary.created} bills created, {summary.issued} issued, "
            f"{summary.flagged} flagged; median {statistics.median(fresh):.1f} s "
            f"({options.meters / statistics.median(fresh):,.0f} accounts/s)"
        )
        print(
            f"second run (idempotent): {second.unchanged} unchanged, {second.created} created; "
            f"median {statistics.median(again):.1f} s"
        )
        sample = Bill.objects.order_by("pk").first()
        print(f"sample bill {sample.number}: {sample.consumption_kwh} kWh, total {sample.total}")
    finally:
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
