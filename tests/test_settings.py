import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k3y-" + "a1B2c3D4e5F6g7H8i9J0" * 3,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "homegrid.example.com",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE belongs to the browser tests' process, never to a deployment.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "", "SECRET_KEY must be set"),
        ("SECRET_KEY", "short", "SECRET_KEY must be set"),
        ("DATABASE_URL", "", "DATABASE_URL must be set"),
        ("REDIS_URL", "", "REDIS_URL must be set"),
    ],
)
def test_production_settings_refuse_to_start_without_the_real_thing(variable, value, message):
    env = PRODUCTION_ENV | {variable: value}
    if not value:
        del env[variable]

    result = _manage("check", **env)

    assert result.returncode != 0
    assert message in result.stderr


def test_every_beat_job_names_a_registered_task():
    celery_app.loader.import_default_modules()

    missing = {
        name: job["task"]
        for name, job in settings.CELERY_BEAT_SCHEDULE.items()
        if job["task"] not in celery_app.tasks
    }

    assert missing == {}
    assert settings.CELERY_BEAT_SCHEDULER.startswith("django_celery_beat")
