"""First paint and chart-drawn times of the customer's dashboard in headless Chromium, for one
live meter with a year of 10-second readings (3.15 million rows).

Sets up a throw-away PostgreSQL database (``bench_dashboard`` unless ``TEST_DATABASE_NAME`` says
otherwise), COPYs the readings straight in, builds the daily roll-ups with the meters app's
``daily_usage_refresh``, starts ``daphne`` on a free loopback port against that database, logs in
with Playwright (Debian's /usr/bin/chromium) and opens the dashboard ``--runs`` times per preset
in a fresh page each time. Prints, per preset, the median and max of: first contentful paint,
the moment the chart is drawn (``performance.mark("dashboard:chart-drawn")``) and the server time
of the series request. Target: first paint <= 1 s. Asserts nothing.

    .venv/bin/python bench/bench_dashboard_first_paint.py [--days 365] [--step 10] [--runs 5]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_dashboard")

import django  # noqa: E402

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from accounts.tests.factories import CustomerAccountFactory, UserFactory  # noqa: E402
from meters import services  # noqa: E402
from meters.models import Meter, MeterKind, Reading  # noqa: E402
from meters.timeutils import month_start, next_month  # noqa: E402
from tests.servers import Daphne, database_url  # noqa: E402

PRESETS = ("day", "week", "month", "year")
# Milliseconds from navigation start: page received, last stylesheet received, first
# contentful paint, chart drawn; and the series request's own duration.
KEYS = ("html", "css", "fcp", "chart", "series")


def seed(days: int, step: int) -> tuple[str, str]:
    """A customer with one live meter and ``days`` of readings every ``step`` seconds up to now."""
    user = UserFactory(email="bench@example.com")
    account = CustomerAccountFactory(users=[user])
    meter = Meter.objects.create(
        meter_id="BENCH-1",
        account=account,
        address=account.address,
        postcode=account.postcode,
        area=account.area,
        region=account.region,
        dwelling_type=account.dwelling_type,
        kind=MeterKind.LIVE,
    )
    end = timezone.now().replace(microsecond=0) - timedelta(seconds=step)
    count = days * 86400 // step
    first = end - timedelta(seconds=step * (count - 1))
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {Reading._meta.db_table} (meter_id, at, import_kwh, power_w, source, quality, "
            "register_reset) FROM STDIN"
        ) as copy,
    ):
        value = 10_000.0
        for index in range(count):
            at = first + timedelta(seconds=step * index)
            hour = at.hour
            watts = 250 + (1800 if 17 <= hour < 21 else 0) + (index % 13) * 15
            value += watts * step / 3_600_000
            copy.write_row((meter.pk, at, f"{value:.4f}", watts, "mqtt", "actual", False))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Reading._meta.db_table}")
    print(f"seeded {count:,} readings in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    tz = meter.tz
    day = month_start(first.astimezone(tz).date())
    last_day = end.astimezone(tz).date()
    while day <= last_day:
        following = next_month(day)
        services.daily_usage_refresh(
            meter=meter,
            days={day + timedelta(days=n) for n in range((following - day).days)},
        )
        day = following
    print(f"daily roll-ups in {time.perf_counter() - started:.0f} s", flush=True)
    return session_for(user), meter.meter_id


def session_for(user) -> str:
    """A logged-in session for the browser's cookie (no password round trip to time)."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def start_daphne(database: str) -> Daphne:
    """A daphne on the benchmark's database, on embedded defaults otherwise (no Redis)."""
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url(connection.settings_dict, database),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    return Daphne(env).start()


def measure(base: str, session: str, meter_id: str, runs: int) -> dict[str, dict[str, list]]:
    figures = {preset: {key: [] for key in KEYS} for preset in PRESETS}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
        for preset in PRESETS:
            for _ in range(runs + 1):  # the first run warms caches and is left out
                page = context.new_page()
                page.goto(f"{base}/dashboard/{meter_id}/?range={preset}&poll=3600")
                page.wait_for_function(
                    "performance.getEntriesByName('dashboard:chart-drawn').length > 0",
                    timeout=60_000,
                )
                timing = page.evaluate(
                    """() => ({
                        html: performance.getEntriesByType('navigation')[0].responseEnd,
                        css: Math.max(...performance.getEntriesByType('resource')
                          .filter(e => e.initiatorType === 'link').map(e => e.responseEnd)),
                        fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
                        chart: performance.getEntriesByName('dashboard:chart-drawn')[0].startTime,
                        series: performance.getEntriesByType('resource')
                          .filter(e => e.name.includes('series.json'))
                          .map(e => e.responseEnd - e.requestStart)[0],
                        points: document.getElementById('chart-wrap').dataset.points,
                    })"""
                )
                page.close()
                if _ == 0:
                    continue
                for key in KEYS:
                    figures[preset][key].append(timing[key])
                figures[preset]["points"] = timing["points"]
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--step", type=int, default=10, help="seconds between readings")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    daphne = None
    try:
        session, meter_id = seed(options.days, options.step)
        daphne = start_daphne(database)
        print(
            f"dashboard first paint: {options.days} days of {options.step}-second readings for "
            f"one meter, {os.cpu_count()} cores, headless Chromium 1280x900, median of "
            f"{options.runs} runs (max in brackets), ms",
            flush=True,
        )
        figures = measure(daphne.url, session, meter_id, options.runs)
        for preset, values in figures.items():
            median = {key: statistics.median(values[key]) for key in KEYS}
            print(
                f"{preset:>6}: page {median['html']:4.0f} · styles {median['css']:4.0f} · "
                f"first paint {median['fcp']:4.0f} ({max(values['fcp']):.0f}) · chart drawn "
                f"{median['chart']:5.0f} ({max(values['chart']):.0f}) · series request "
                f"{median['series']:4.0f} ({max(values['series']):.0f}) · {values['points']} points"
            )
        print("target: first paint <= 1000 ms")
    finally:
        if daphne:
            daphne.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
