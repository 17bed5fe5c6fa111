"""Consumption queries on a large readings table: p50/p95 at 1M rows and again at 20M+ rows.

Sets up a throw-away PostgreSQL database (``bench_meters_q`` unless ``TEST_DATABASE_NAME`` says
otherwise) and COPYs a year of half-hourly readings for ``--small-meters`` meters (about 1M rows),
rolls up their days, and times, for ``--samples`` random meters each:

- consumption for a period (``last_month`` and a random custom week) — target p95 <= 10 ms;
- interval series grouped by day over a month (from the daily roll-ups);
- interval series by half-hour over a day (from the raw readings);
- stats for a week; energy summary (30 days, averages over a year).

Then COPYs readings for more meters until ``--large-meters`` meters (1,200 x 17,520 = 21M rows by
default) and times the same queries on the same meters again: the figures should not grow with the
table. Selectors are called in-process (no HTTP), as the API and portal call them. Asserts
nothing; prints the figures.

    .venv/bin/python bench/bench_meters_queries.py [--small-meters 57] [--large-meters 1200]
"""

import argparse
import io
import math
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_meters_q")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from accounts.models import CustomerAccount  # noqa: E402
from meters import selectors  # noqa: E402
from meters.models import DailyUsage, Meter, Reading  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
HALF_HOURS = 365 * 48
NOW = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)


def add_meters(first: int, count: int, account: CustomerAccount) -> list[Meter]:
    regions = ["london", "wales", "scotland", "north_west", "south_east"]
    return Meter.objects.bulk_create(
        Meter(
            meter_id=f"Q{number:07d}",
            account=account,
            address="1 Bench Street",
            postcode="N1 9GU",
            area="N1",
            region=regions[number % len(regions)],
            dwelling_type="terraced",
            timezone="Europe/London",
        )
        for number in range(first, first + count)
    )


def copy_readings(meters: list[Meter]) -> float:
    """A year of half-hourly readings per meter, COPYed; a register that always goes up."""
    stamps = [(START + timedelta(minutes=30 * n)).isoformat() for n in range(HALF_HOURS)]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {Reading._meta.db_table} (meter_id, at, import_kwh, source, quality, "
            "register_reset) FROM STDIN"
        ) as copy:
            for meter in meters:
                scale = 0.2 + (meter.pk % 10) / 20
                buffer = io.StringIO()
                for n, stamp in enumerate(stamps):
                    value = 1000 + scale * n + 0.2 * math.sin(n / 10)
                    buffer.write(f"{meter.pk}\t{stamp}\t{value:.4f}\tapi\tactual\tf\n")
                copy.write(buffer.getvalue())
        _roll_up(cursor, [meter.pk for meter in meters])
    # Index-only counts need the visibility map that VACUUM writes, as autovacuum would.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Reading._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {DailyUsage._meta.db_table}")
    return time.perf_counter() - started


def _roll_up(cursor, meter_pks: list[int]) -> None:
    """The roll-ups ingest would have kept, in one statement (setup, not measured)."""
    cursor.execute(
        f"""
        INSERT INTO {DailyUsage._meta.db_table}
            (meter_id, day, import_kwh, readings, intervals_expected, first_at, last_at,
             is_partial, updated_at)
        SELECT meter_id, day, sum(delta), count(*),
               extract(epoch FROM ((day + 1)::timestamp AT TIME ZONE 'Europe/London')
                                - (day::timestamp AT TIME ZONE 'Europe/London')) / 1800,
               min(at), max(at), count(*) < extract(epoch FROM
                   ((day + 1)::timestamp AT TIME ZONE 'Europe/London')
                   - (day::timestamp AT TIME ZONE 'Europe/London')) / 1800, now()
          FROM (SELECT meter_id, at,
                       ((at - interval '1 microsecond') AT TIME ZONE 'Europe/London')::date AS day,
                       import_kwh - lag(import_kwh) OVER (PARTITION BY meter_id ORDER BY at)
                           AS delta
                  FROM {Reading._meta.db_table} WHERE meter_id = ANY(%s)) AS intervals
         WHERE delta IS NOT NULL
         GROUP BY meter_id, day
        """,  # noqa: S608 - constant table names
        [meter_pks],
    )


def timed(function, samples: list) -> tuple[float, float]:
    durations = []
    for sample in samples:
        started = time.perf_counter()
        function(sample)
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    return statistics.median(durations), durations[int(len(durations) * 0.95) - 1]


def measure(meters: list[Meter], samples: int, label: str) -> None:
    rng = random.Random(7)
    picks = [rng.choice(meters) for _ in range(samples)]
    weeks = [
        (meter, START + timedelta(days=rng.randrange(0, 350), hours=rng.randrange(0, 24)))
        for meter in picks
    ]
    months = [(meter, datetime(2025, rng.randrange(1, 12), 1, tzinfo=UTC)) for meter in picks]
    queries = {
        "consumption last_month": lambda meter: selectors.consumption_for_period(
            meter=meter, period="last_month", now=NOW
        ),
        "consumption custom week": lambda pair: selectors.consumption_for_period(
            meter=pair[0], start=pair[1], end=pair[1] + timedelta(days=7)
        ),
        "series by day, a month": lambda pair: selectors.interval_series(
            meter=pair[0],
            period_from=pair[1].replace(tzinfo=None),
            period_to=(pair[1] + timedelta(days=31)).replace(day=1, tzinfo=None),
            group_by="day",
        ),
        "series by half-hour, a day": lambda pair: selectors.interval_series(
            meter=pair[0],
            period_from=pair[1],
            period_to=pair[1] + timedelta(days=1),
            group_by="half_hour",
        ),
        "stats, a week": lambda pair: selectors.reading_stats(
            meter=pair[0], start=pair[1], end=pair[1] + timedelta(days=7)
        ),
        "energy summary": lambda meter: selectors.energy_summary(
            meter=meter, days=30, today=NOW.date()
        ),
    }
    arguments = {
        "consumption last_month": picks,
        "consumption custom week": weeks,
        "series by day, a month": months,
        "series by half-hour, a day": weeks,
        "stats, a week": weeks,
        "energy summary": picks,
    }
    print(f"{label}:")
    for name, query in queries.items():
        query(arguments[name][0])  # warm the plan cache and the meter's pages
        p50, p95 = timed(query, arguments[name])
        print(f"  {name:28s} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   ({samples} samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small-meters", type=int, default=57, help="57 x 17,520 = 1.0M rows")
    parser.add_argument("--large-meters", type=int, default=1200, help="1,200 = 21M rows")
    parser.add_argument("--samples", type=int, default=300)
    options = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        account = CustomerAccount.objects.create(
            account_number="HG00000002",
            owner_name="Bench",
            address="1 Bench Street",
            postcode="N1 9GU",
            area="N1",
            region="london",
            dwelling_type="terraced",
        )
        print(f"meters queries benchmark, {os.cpu_count()} cores")
        small = add_meters(0, options.small_meters, account)
        elapsed = copy_readings(small)
        rows = options.small_meters * HALF_HOURS
        print(f"  loaded {rows:,} readings + roll-ups in {elapsed:.0f} s (setup)")
        measure(small, options.samples, f"{rows:,} readings")
        more = options.large_meters - options.small_meters
        loaded = 0
        for offset in range(0, more, 100):
            chunk = add_meters(options.small_meters + offset, min(100, more - offset), account)
            loaded += copy_readings(chunk)
        rows = options.large_meters * HALF_HOURS
        print(f"  loaded up to {rows:,} readings in {loaded:.0f} s (setup)")
        measure(small, options.samples, f"{rows:,} readings, the same meters")
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
