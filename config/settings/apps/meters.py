"""Settings of the meters app, read from the environment (see README, Configuration)."""

from celery.schedules import crontab

from ..environment import VAR_DIR, env

# Archives of readings: ARCHIVE_DIR/daily/YYYY-MM-DD.csv.gz and monthly/YYYY-MM.csv.gz, each
# with a .sha256 manifest beside it.
ARCHIVE_DIR = env.path("ARCHIVE_DIR", default=VAR_DIR / "archive")
# Raw readings of live (telemetry) meters older than this are pruned, once archived and rolled up.
RAW_RETENTION_DAYS = env.int("RAW_RETENTION_DAYS", default=400)
# Reading diagnostics (a client's raw object, the payload of an MQTT message without a usable
# time) are kept this many days by reading time; the archives keep them with their readings.
READING_DIAGNOSTICS_RETENTION_DAYS = env.int("READING_DIAGNOSTICS_RETENTION_DAYS", default=14)
# Retry-After (seconds) that write doors send while reception is paused or in maintenance.
RECEPTION_RETRY_AFTER_SECONDS = env.int("RECEPTION_RETRY_AFTER_SECONDS", default=60)
# How far ahead of this server's clock a reading's timestamp may be before it is refused.
READING_MAX_CLOCK_SKEW_SECONDS = env.int("READING_MAX_CLOCK_SKEW_SECONDS", default=300)

# Largest body POST /api/v1/readings/bulk accepts (10,000 readings with raw payloads fit).
READINGS_BULK_MAX_BYTES = env.int("READINGS_BULK_MAX_BYTES", default=32 * 1024 * 1024)
# Analyst aggregates leave out groups (a region, area or dwelling type in a period) of fewer
# meters than this, so no single household's consumption can be read from them.
ANALYTICS_MIN_GROUP_SIZE = env.int("ANALYTICS_MIN_GROUP_SIZE", default=5)

# At most one live push to browsers per meter in this many seconds.
LIVE_PUSH_MIN_INTERVAL_SECONDS = env.int("LIVE_PUSH_MIN_INTERVAL_SECONDS", default=1)

# Beat runs in TIME_ZONE (CELERY_TIMEZONE), so these are local times.
METERS_BEAT_SCHEDULE: dict = {
    "meters-archive-daily": {
        "task": "meters.tasks.archive_yesterday",
        "schedule": crontab(minute=30, hour=0),
    },
    "meters-archive-monthly": {
        "task": "meters.tasks.archive_last_month",
        "schedule": crontab(minute=45, hour=0, day_of_month=1),
    },
    "meters-prune-raw": {
        "task": "meters.tasks.prune_raw_readings",
        "schedule": crontab(minute=15, hour=2),
    },
    "meters-prune-diagnostics": {
        "task": "meters.tasks.prune_reading_diagnostics",
        "schedule": crontab(minute=20, hour=2),
    },
}
