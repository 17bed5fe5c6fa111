"""Settings of the telemetry (MQTT ingest) sub-app, read from the environment (see README)."""

from celery.schedules import crontab  # noqa: F401

from ..environment import VAR_DIR, env  # noqa: F401

TELEMETRY_BEAT_SCHEDULE: dict = {}
