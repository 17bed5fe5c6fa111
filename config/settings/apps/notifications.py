"""Settings of the notifications app, read from the environment (see README, Configuration)."""

from ..environment import env

# Who gets staff alerts (battery alerts, chargers faulted or offline): every active staff user
# unless listed here.
NOTIFICATIONS_STAFF_EMAILS = env.list("NOTIFICATIONS_STAFF_EMAILS", default=[])
# Webhooks: seconds one POST may take; attempts before a delivery is given up; the backoff's
# first wait (doubling each attempt) and its cap, in seconds.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600.0)

NOTIFICATIONS_BEAT_SCHEDULE: dict = {
    # Events and webhook deliveries whose task never reached a worker, sent again.
    "notifications-resend-stalled": {
        "task": "notifications.tasks.notifications_resend_stalled",
        "schedule": 60.0,
    },
}
