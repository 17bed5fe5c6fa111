"""Settings of the charging app, read from the environment (see README, Configuration)."""

from celery.schedules import crontab

from ..environment import VAR_DIR, env  # noqa: F401

# "known": only charge points staff registered may connect. "pending": an unknown charge point is
# stored and answered Pending until staff accept it in the admin.
CHARGING_REGISTRATION_POLICY = env.str("CHARGING_REGISTRATION_POLICY", default="known")
# The websocket subprotocols /ocpp/<id> speaks, most preferred first: a charger offering several
# gets the first of these it offers (README: OCPP versions). Comma-separated in the environment.
OCPP_VERSION_PREFERENCE = env.list("OCPP_VERSION_PREFERENCE", default=["ocpp2.0.1", "ocpp1.6"])
# Seconds; sent in BootNotification.conf. A charger is offline after 2 x this + the grace.
CHARGING_HEARTBEAT_INTERVAL = env.int("CHARGING_HEARTBEAT_INTERVAL", default=300)
CHARGING_OFFLINE_GRACE = env.int("CHARGING_OFFLINE_GRACE", default=60)
# Seconds the consumer waits for a charger's answer to a central-system CALL, and the API waits
# for the outcome of a command.
CHARGING_COMMAND_TIMEOUT = env.int("CHARGING_COMMAND_TIMEOUT", default=30)
# Days of OCPP frames kept in the message log.
CHARGING_MESSAGE_RETENTION_DAYS = env.int("CHARGING_MESSAGE_RETENTION_DAYS", default=30)
# Per connection: a token bucket of CALLs (burst, then refill per second). Over it a CALL is
# answered with a GenericError CALLERROR and not processed.
CHARGING_RATE_LIMIT_BURST = env.int("CHARGING_RATE_LIMIT_BURST", default=60)
CHARGING_RATE_LIMIT_PER_SECOND = env.float("CHARGING_RATE_LIMIT_PER_SECOND", default=10.0)
# Frames larger than this close the connection with 4009 (1009 "message too big", as an
# application code: daphne sends only 1000 and 3000-4999).
CHARGING_MAX_FRAME_BYTES = env.int("CHARGING_MAX_FRAME_BYTES", default=65536)
# Store every frame in OcppMessage (turn off only to measure the cost of the log).
CHARGING_LOG_MESSAGES = env.bool("CHARGING_LOG_MESSAGES", default=True)
# Frames are written in batches this many seconds after the first of a batch.
CHARGING_LOG_FLUSH_SECONDS = env.float("CHARGING_LOG_FLUSH_SECONDS", default=0.2)
# Handshakes doing their database work at once, per daphne process; more wait their turn (a
# reconnect storm queues instead of failing). About the database thread pool's size.
CHARGING_HANDSHAKE_CONCURRENCY = env.int("CHARGING_HANDSHAKE_CONCURRENCY", default=4)
# Each daphne process writes that it is alive this often; one silent for CHARGING_NODE_TTL s
# is dead and the chargers it owned are disconnected (commands to them end "offline" at once).
CHARGING_NODE_HEARTBEAT_SECONDS = env.float("CHARGING_NODE_HEARTBEAT_SECONDS", default=10.0)
CHARGING_NODE_TTL = env.float("CHARGING_NODE_TTL", default=45.0)

CHARGING_BEAT_SCHEDULE: dict = {
    "charging-mark-offline": {"task": "charging.tasks.chargers_mark_offline", "schedule": 60.0},
    "charging-purge-messages": {
        "task": "charging.tasks.ocpp_messages_purge",
        "schedule": crontab(hour=3, minute=17),
    },
}
