"""Settings of the batteries app, read from the environment (see README, Configuration)."""

from pathlib import Path

from ..environment import VAR_DIR, env

# Monitoring thresholds used for a battery whose vendor and model have no row in
# ``batteries.ModelThresholds``. Defaults follow common lithium-ion (LFP) practice for a 48 V
# domestic unit: charge only below 45 C (cells age fast above it), discharge tolerates up to
# 55 C; a nominal 51.2 V pack lives between 44 V and 58.4 V; a 5 kW inverter.
BATTERIES_THRESHOLD_DEFAULTS = {
    "charge_temperature_warning_c": env.float("BATTERIES_CHARGE_TEMP_WARNING_C", default=45.0),
    "charge_temperature_critical_c": env.float("BATTERIES_CHARGE_TEMP_CRITICAL_C", default=55.0),
    "discharge_temperature_warning_c": env.float(
        "BATTERIES_DISCHARGE_TEMP_WARNING_C", default=55.0
    ),
    "discharge_temperature_critical_c": env.float(
        "BATTERIES_DISCHARGE_TEMP_CRITICAL_C", default=65.0
    ),
    "voltage_min_v": env.float("BATTERIES_VOLTAGE_MIN_V", default=44.0),
    "voltage_max_v": env.float("BATTERIES_VOLTAGE_MAX_V", default=58.4),
    "rated_power_kw": env.float("BATTERIES_RATED_POWER_KW", default=5.0),
}
# A battery silent for longer than this is marked offline (and an "offline" alert opens).
BATTERIES_STALE_MINUTES = env.int("BATTERIES_STALE_MINUTES", default=10)
# An instruction issued by a rule lapses after this long unless the next rule pass refreshes it,
# so a crashed controller never leaves a unit stuck in forced charge.
BATTERIES_RULE_INSTRUCTION_TTL_MINUTES = env.int(
    "BATTERIES_RULE_INSTRUCTION_TTL_MINUTES", default=5
)
# A manual instruction (API, admin) lasts this long unless the operator gives another expiry.
BATTERIES_MANUAL_INSTRUCTION_TTL_MINUTES = env.int(
    "BATTERIES_MANUAL_INSTRUCTION_TTL_MINUTES", default=60
)
# Where delete operations write the CSV archive of the deleted batteries' history first.
BATTERIES_ARCHIVE_DIR = Path(
    env.str("BATTERIES_ARCHIVE_DIR", default=str(VAR_DIR / "battery-archives"))
)
# Instructions go to ``<root>/<identifier>/cmd``; acknowledgements come on ``.../cmd/ack``.
BATTERIES_MQTT_TOPIC_ROOT = env.str("BATTERIES_MQTT_TOPIC_ROOT", default="batteries")
# Seconds to wait for the broker to confirm a QoS 1 publish before the instruction counts as failed.
BATTERIES_MQTT_PUBLISH_TIMEOUT = env.float("BATTERIES_MQTT_PUBLISH_TIMEOUT", default=10.0)

BATTERIES_BEAT_SCHEDULE: dict = {
    "batteries-monitoring": {"task": "batteries.tasks.monitoring_pass", "schedule": 60.0},
    "batteries-instructions": {"task": "batteries.tasks.instructions_pass", "schedule": 60.0},
}
