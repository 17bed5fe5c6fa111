"""Settings of the telemetry (MQTT ingest) sub-app, read from the environment (see README).

The broker itself is ``MQTT_URL`` (base settings): ``mqtt://user:password@host:1883`` or
``mqtts://...`` for TLS; the variables below override or complete it.
"""

import socket

from ..environment import env

# --- Connection ----------------------------------------------------------------------------------
# Credentials; when unset, those in MQTT_URL (if any) are used.
MQTT_USERNAME = env.str("MQTT_USERNAME", default="")
MQTT_PASSWORD = env.str("MQTT_PASSWORD", default="")
# TLS: on for an mqtts:// URL or MQTT_TLS=true. CA bundle (default: the system's), optional client
# certificate and key, and (for test brokers only) skipping certificate verification.
MQTT_TLS = env.bool("MQTT_TLS", default=False)
MQTT_TLS_CA_CERTS = env.str("MQTT_TLS_CA_CERTS", default="")
MQTT_TLS_CERTFILE = env.str("MQTT_TLS_CERTFILE", default="")
MQTT_TLS_KEYFILE = env.str("MQTT_TLS_KEYFILE", default="")
MQTT_TLS_INSECURE = env.bool("MQTT_TLS_INSECURE", default=False)
# The persistent session belongs to this id: it must stay the same across restarts of one ingest
# process and differ between processes that run side by side (one per host by default).
MQTT_CLIENT_ID = env.str("MQTT_CLIENT_ID", default=f"homegrid-ingest-{socket.gethostname()}")
# "5" (clean_start=False with a session expiry), "3.1.1" (clean_session=False), or "auto": 5 when
# the broker speaks it, else 3.1.1 (the embedded demo broker). MQTT 5 lets the ingest set the
# in-flight window (TELEMETRY_RECEIVE_MAXIMUM); Mosquitto gives a 3.1.1 client only 20
# unacknowledged messages (max_inflight_messages), which caps every batch at 20.
MQTT_PROTOCOL = env.str("MQTT_PROTOCOL", default="auto")
# MQTT 5 only: how long the broker keeps the session (and queues messages) while disconnected.
MQTT_SESSION_EXPIRY_SECONDS = env.int("MQTT_SESSION_EXPIRY_SECONDS", default=7 * 24 * 3600)
MQTT_KEEPALIVE_SECONDS = env.int("MQTT_KEEPALIVE_SECONDS", default=30)
# Reconnect backoff: first delay and ceiling, in seconds (doubles after each failure).
MQTT_RECONNECT_MIN_SECONDS = env.int("MQTT_RECONNECT_MIN_SECONDS", default=1)
MQTT_RECONNECT_MAX_SECONDS = env.int("MQTT_RECONNECT_MAX_SECONDS", default=60)
# Set to split the load between several ingest processes: each subscribes through
# ``$share/<group>/...`` and the broker hands every message to exactly one of them.
MQTT_SHARED_GROUP = env.str("MQTT_SHARED_GROUP", default="")
# Topic roots: Tasmota's ``tele/<device>/<SENSOR|LWT|STATE>``.
TELEMETRY_TOPIC_ROOT = env.str("TELEMETRY_TOPIC_ROOT", default="tele")

# --- Batching ------------------------------------------------------------------------------------
# A batch is written when it holds this many messages, or this many milliseconds after its first.
# Per-batch costs (a statement per table, one row per meter in each) are shared by more messages
# in a larger batch: 2,000 drained a backlog ~1.6 times as fast as 500 (bench/README.md, #16).
TELEMETRY_BATCH_SIZE = env.int("TELEMETRY_BATCH_SIZE", default=2000)
TELEMETRY_BATCH_FLUSH_MS = env.int("TELEMETRY_BATCH_FLUSH_MS", default=200)
# Messages the broker may send before the ingest acknowledges (MQTT 5 Receive Maximum); several
# batches, so the next batches fill while one is being written.
TELEMETRY_RECEIVE_MAXIMUM = env.int("TELEMETRY_RECEIVE_MAXIMUM", default=8000)

# --- Payload handling ----------------------------------------------------------------------------
# What to do with a SENSOR message from a device no meter is attached to: "record" keeps the
# device as unassigned (and the message as a dead letter) for staff to attach; "ignore" drops it
# with a log line and a count.
TELEMETRY_UNKNOWN_DEVICE = env.str("TELEMETRY_UNKNOWN_DEVICE", default="record")
# Keep messages that could not be stored (bad JSON, no register, conflicts) for staff to inspect.
TELEMETRY_DEAD_LETTERS = env.bool("TELEMETRY_DEAD_LETTERS", default=True)
# A payload ``Time`` is used when it is no more than this far ahead of the receive time ...
TELEMETRY_TIME_MAX_AHEAD_SECONDS = env.int("TELEMETRY_TIME_MAX_AHEAD_SECONDS", default=120)
# ... and no more than this far behind it (a broker may hold messages while the ingest is down).
TELEMETRY_TIME_MAX_BEHIND_SECONDS = env.int("TELEMETRY_TIME_MAX_BEHIND_SECONDS", default=24 * 3600)

# A message stamped with its receive time (no plausible Time) is recognised on redelivery by its
# topic and bytes for this long: the broker redelivers unacknowledged messages whenever the
# session reconnects, up to its expiry. Byte-identical payloads of one device within the window
# are one message (their registers are equal, so no energy is lost).
TELEMETRY_DEDUP_WINDOW_SECONDS = env.int(
    "TELEMETRY_DEDUP_WINDOW_SECONDS", default=MQTT_SESSION_EXPIRY_SECONDS
)
# A message found in progress this many times when a process died (a crash no per-message guard
# caught) is dead-lettered as ``crashed_before`` instead of being tried again.
TELEMETRY_CRASH_LIMIT = env.int("TELEMETRY_CRASH_LIMIT", default=2)

# --- Supervision ---------------------------------------------------------------------------------
# The ingest writes its heartbeat (to the cache: Redis, or the file cache in the demo) this often.
TELEMETRY_HEARTBEAT_SECONDS = env.int("TELEMETRY_HEARTBEAT_SECONDS", default=5)
# No heartbeat for this long: the ingest is down. With the beat task every minute, a stopped
# ingest is marked down (and alerted) within 45 + 60 s.
TELEMETRY_DOWN_AFTER_SECONDS = env.int("TELEMETRY_DOWN_AFTER_SECONDS", default=45)
# A device is silent after this many TelePeriods without a SENSOR message.
TELEMETRY_SILENT_AFTER_PERIODS = env.int("TELEMETRY_SILENT_AFTER_PERIODS", default=3)
# Ingest is degraded when more than this share of the last minute's messages were rejected.
TELEMETRY_DEGRADED_REJECT_RATIO = env.float("TELEMETRY_DEGRADED_REJECT_RATIO", default=0.2)
# Alerts are mailed to these addresses (comma-separated); empty: to every active staff user.
TELEMETRY_ALERT_EMAILS = env.list("TELEMETRY_ALERT_EMAILS", default=[])

TELEMETRY_BEAT_SCHEDULE: dict = {
    "telemetry-supervise": {"task": "meters.telemetry.tasks.supervise", "schedule": 60.0},
}
