"""Live-meter ingest late in the day: a batch of one new reading per meter, when each meter
already holds thousands of 10-second readings today (what the MQTT ingest sees every evening).

Sets up a throw-away PostgreSQL database (``bench_live_day`` unless ``TEST_DATABASE_NAME`` says
otherwise), stores ``--readings`` readings of today for each of ``--meters`` live meters through
the ingest service, then times ``--batches`` batches of one new reading per meter. Asserts
nothing; prints the figures.

    .venv/bin/python bench/bench_meters_ingest_live_day.py [--meters 100] [--readings 4000]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_live_day")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.tests.factories import CustomerAccountFactory  # noqa: E402
from meters import services  # noqa: E402
from meters.models import Meter, MeterKind  # noqa: E402
from meters.services import ReadingIn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--readings", type=int, default=4000, help="today's readings per meter")
    parser.add_argument("--batches", type=int, default=5)
    options = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        account = CustomerAccountFactory()
        meters = Meter.objects.bulk_create(
            Meter(
                meter_id=f"LIVE-{number:05d}",
                account=account,
                address="1 Bench Street",
                postcode="N1 9GU",
                area="N1",
                region="london",
                dwelling_type="flat",
                kind=MeterKind.LIVE,
            )
            for number in range(options.meters)
        )
        now = timezone.now().replace(microsecond=0)
        midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0)
        per_meter = min(options.readings, int((now - midnight).total_seconds() // 10) - 10)
        for meter in meters:
            services.reading_ingest_bulk(
                items=[
                    ReadingIn(
                        meter_id=meter.meter_id,
                        at=now - timedelta(seconds=10 * (per_meter - step) + 60),
                        import_kwh=Decimal(step) / 1000,
                    )
                    for step in range(per_meter)
                ],
                source="mqtt",
            )
        timings = []
        for batch in range(options.batches):
            items = [
                ReadingIn(
                    meter_id=meter.meter_id,
                    at=now - timedelta(seconds=50 - batch),
                    import_kwh=Decimal(per_meter + batch) / 1000,
                )
                for meter in meters
            ]
            began = time.perf_counter()
            services.reading_ingest_bulk(items=items, source="mqtt")
            timings.append(time.perf_counter() - began)
        print(
            f"live day ingest: {options.meters} meters with {per_meter} readings today each, "
            f"{os.cpu_count()} cores; a batch of one new reading per meter: median "
            f"{statistics.median(timings):.3f} s (max {max(timings):.3f} s) = "
            f"{options.meters / statistics.median(timings):,.0f} readings/s"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
