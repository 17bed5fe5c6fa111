"""Settings of the flex app (the planner), read from the environment (README, Configuration)."""

from ..environment import env

# A household's import limit until staff set its own: 60 A at 230 V.
FLEX_DEFAULT_IMPORT_LIMIT_W = env.int("FLEX_DEFAULT_IMPORT_LIMIT_W", default=13_800)
# The house's load the plan leaves room for when the meter says nothing recent (W).
FLEX_DEFAULT_HOUSE_LOAD_W = env.int("FLEX_DEFAULT_HOUSE_LOAD_W", default=2_000)
# A live reading older than this does not tell the house's load now.
FLEX_LIVE_POWER_MAX_AGE_SECONDS = env.int("FLEX_LIVE_POWER_MAX_AGE_SECONDS", default=300)
# How far ahead a battery is planned (half-hours).
FLEX_BATTERY_HORIZON_SLOTS = env.int("FLEX_BATTERY_HORIZON_SLOTS", default=48)
# How long each battery instruction lasts: a planner that stops leaves the unit to its own control.
FLEX_BATTERY_INSTRUCTION_MINUTES = env.int("FLEX_BATTERY_INSTRUCTION_MINUTES", default=35)

FLEX_BEAT_SCHEDULE = {
    # Re-plan every goal and battery (prices of tomorrow arrive in the afternoon; the house's
    # load changes), settle the chargers' answers, and give each battery its half-hour's order.
    "flex-replan": {"task": "flex.tasks.flex_replan", "schedule": 300.0},
    "flex-profile-outcomes": {"task": "flex.tasks.flex_profile_outcomes", "schedule": 30.0},
}
