"""Every beat job runs on the embedded defaults `make run` uses (SQLite, in-memory channel layer,
file-system broker), so a query only PostgreSQL accepts cannot fail every minute in the demo.

The jobs are read from the beat schedule the project registers, so a new one is covered without
touching this file. One child process migrates a fresh SQLite file, seeds a little data per app
(so the jobs' queries meet rows), then runs each job through Celery (`Task.apply`, which runs the
task body with its signals, as a worker would) and prints the outcomes as JSON.
"""

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from charging import services as charging_services
from charging.tests.factories import ChargerFactory
from tests.servers import ROOT, embedded_env

MARKER = "BEAT-OUTCOMES "

RUN_EVERY_BEAT_JOB = f"""
import json
from datetime import datetime, time, timedelta
from django.conf import settings
from django.utils import timezone
from batteries.tests.factories import BatteryFactory
from charging.models import Charger
from charging.tests.factories import ChargerFactory
from config.celery import app
from meters.tests.factories import MeterFactory, ReadingFactory

now = timezone.now()
ChargerFactory(charge_point_id="SILENT", connected=True, heartbeat_interval=60,
               last_message_at=now - timedelta(hours=1))
ChargerFactory(charge_point_id="TALKING", connected=True, heartbeat_interval=900,
               last_message_at=now - timedelta(minutes=10))
meter = MeterFactory()
yesterday_noon = timezone.make_aware(
    datetime.combine(timezone.localdate() - timedelta(days=1), time(12))
)
for n in range(4):
    ReadingFactory(meter=meter, at=yesterday_noon + timedelta(minutes=30 * n))
BatteryFactory()

app.loader.import_default_modules()
outcomes = {{}}
for name, job in settings.CELERY_BEAT_SCHEDULE.items():
    result = app.tasks[job["task"]].apply(args=job.get("args", ()), kwargs=job.get("kwargs", {{}}))
    outcomes[name] = {{
        "task": job["task"],
        "succeeded": result.successful(),
        "result": repr(result.result),
        "traceback": result.traceback,
    }}
outcomes["_connected"] = sorted(
    Charger.objects.filter(connected=True).values_list("charge_point_id", flat=True)
)
outcomes["_database"] = settings.DATABASES["default"]["ENGINE"]
print({MARKER!r} + json.dumps(outcomes))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict:
    var_dir = tmp_path_factory.mktemp("var")
    env = embedded_env(var_dir)
    manage = [sys.executable, "manage.py"]
    ran = subprocess.run(
        [*manage, "shell", "-c", RUN_EVERY_BEAT_JOB],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in ran.stdout.splitlines() if line.startswith(MARKER)]
    assert ran.returncode == 0 and lines, ran.stderr[-4000:]
    return json.loads(lines[-1].removeprefix(MARKER))


def test_it_runs_on_the_embedded_sqlite_database(outcomes):
    assert outcomes["_database"] == "django.db.backends.sqlite3"


def test_every_registered_beat_job_succeeds_on_embedded_defaults(outcomes):
    failed = {
        name: outcome["traceback"]
        for name, outcome in outcomes.items()
        if not name.startswith("_") and not outcome["succeeded"]
    }

    assert set(settings.CELERY_BEAT_SCHEDULE) <= set(outcomes)
    assert failed == {}


def test_offline_detection_marks_only_the_silent_charger_on_sqlite(outcomes):
    assert outcomes["charging-mark-offline"]["result"] == "1"
    assert outcomes["_connected"] == ["TALKING"]


def test_the_daily_archive_job_archives_yesterdays_readings_on_sqlite(outcomes):
    assert outcomes["meters-archive-daily"]["result"] == "4"


@pytest.mark.django_db
def test_offline_detection_applies_each_chargers_own_interval_on_postgresql():
    now = timezone.now()
    grace = timedelta(seconds=settings.CHARGING_OFFLINE_GRACE)
    just_over = {
        interval: ChargerFactory(
            connected=True,
            heartbeat_interval=interval,
            last_message_at=now - 2 * timedelta(seconds=interval) - grace - timedelta(seconds=1),
        )
        for interval in (30, 300, 3600)
    }
    just_under = {
        interval: ChargerFactory(
            connected=True,
            heartbeat_interval=interval,
            last_message_at=now - 2 * timedelta(seconds=interval) - grace + timedelta(seconds=1),
        )
        for interval in (30, 300, 3600)
    }
    never_spoke = ChargerFactory(connected=True, heartbeat_interval=300, last_message_at=None)

    marked = charging_services.chargers_mark_offline(now=now)

    assert marked == 4
    for charger in just_over.values():
        charger.refresh_from_db()
        assert not charger.connected
    for charger in just_under.values():
        charger.refresh_from_db()
        assert charger.connected
    never_spoke.refresh_from_db()
    assert not never_spoke.connected
