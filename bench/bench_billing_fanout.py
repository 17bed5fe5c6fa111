"""A month's bills fanned out over Celery workers (issue #16 §4): 1, 2 and 4 worker processes
against the in-process run of the same data, measured in the same run.

Uses ``bench_billing``'s data (``--meters`` accounts of one meter each, September 2026 roll-ups
and boundary reads, written with SQL) in a throw-away database. The reference is
``bills_generate`` in this process; then for each worker count the bills are deleted, that many
``celery worker`` processes (solo pool, one task at a time each) are started on a Redis database
of their own, consuming only the ``celery`` queue (the chunks; ``--queues celery,notifications``
makes them send the bills' mail too, as the Procfile's worker does), ``bill_run_start`` fans the
month out in chunks and the clock stops when the run is finished (its last chunk totals it).
Prints seconds, accounts per second, the ratio to the in-process run and the load average as
each figure was taken; checks only that every bill was made.

    .venv/bin/python bench/bench_billing_fanout.py [--meters 100000] [--workers 1,2,4]
        [--chunk 2000] [--repeat 1] [--queues celery]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_billing_fanout")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")

import django  # noqa: E402

django.setup()

from bench_billing import MONTH, make_data, reset_bills  # noqa: E402
from django.db import connection  # noqa: E402

from billing import services  # noqa: E402
from billing.models import Bill  # noqa: E402
from config.celery import app as celery_app  # noqa: E402


def load() -> str:
    return "load " + " ".join(f"{n:.2f}" for n in os.getloadavg())


def start_workers(count: int, database: str, queues: str) -> list[subprocess.Popen]:
    # The production settings' Celery, not the tests' (which run every task sent eagerly, in
    # the sender: a worker would then dispatch each issued bill's mail inside its chunk).
    env = os.environ | {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DEBUG": "false",
    }
    workers = [
        subprocess.Popen(
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "-Q",
                queues,
                "--loglevel",
                "WARNING",
                "-n",
                f"bench{n}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(celery_app.control.ping(timeout=0.5) or []) >= count:
            return workers
    raise SystemExit(f"{count} workers did not answer within 60 s")


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)


def fanned_out(workers: int, chunk: int, database: str, queues: str) -> tuple[float, int]:
    reset_bills()
    celery_app.control.purge()
    procs = start_workers(workers, database, queues)
    try:
        began = time.perf_counter()
        run = services.bill_run_start(month=MONTH, chunk_size=chunk, trigger="bench")
        while True:
            run.refresh_from_db()
            if run.finished_at is not None:
                return time.perf_counter() - began, run.created
            time.sleep(0.1)
    finally:
        stop_workers(procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--queues", default="celery")
    options = parser.parse_args()
    celery_app.conf.task_always_eager = False  # the test settings' default is eager

    database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        began = time.perf_counter()
        make_data(options.meters)
        print(f"data: {options.meters:,} accounts in {time.perf_counter() - began:.1f} s")
        inline = []
        for _ in range(options.repeat):
            reset_bills()
            celery_app.control.purge()
            began = time.perf_counter()
            services.bills_generate(month=MONTH, issue=True, trigger="bench")
            inline.append(time.perf_counter() - began)
        reference = statistics.median(inline)
        print(
            f"in one process (reference): {reference:.1f} s "
            f"({options.meters / reference:,.0f} accounts/s; {load()})"
        )
        for count in [int(n) for n in options.workers.split(",")]:
            times = []
            for _ in range(options.repeat):
                seconds, created = fanned_out(count, options.chunk, database, options.queues)
                assert created == options.meters == Bill.objects.count(), (created, count)
                times.append(seconds)
            median = statistics.median(times)
            print(
                f"{count} worker(s): {median:.1f} s ({options.meters / median:,.0f} accounts/s,"
                f" {reference / median:.2f} x the in-process run; {load()})"
            )
    finally:
        celery_app.control.purge()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
