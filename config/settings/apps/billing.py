"""Settings of the billing app, read from the environment (see README, Configuration)."""

from celery.schedules import crontab  # noqa: F401

from ..environment import VAR_DIR, env  # noqa: F401

BILLING_BEAT_SCHEDULE: dict = {}
