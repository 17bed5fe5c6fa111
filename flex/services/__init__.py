"""Every write of the flex app: goals and their plans, battery schedules, the beat's re-plan."""

from .goals import (
    GOAL_FIELDS,
    goal_clean,
    goal_clear,
    goal_replan,
    goal_set,
    plan_outcome_settle,
    plan_outcomes_settle,
    profile_payload,
)
from .households import household_set
from .outcomes import SessionOutcome, session_outcome, session_outcomes, session_savings_for_bill
from .replan import flex_replan_all
from .schedules import (
    SCHEDULE_FIELDS,
    battery_instruct,
    schedule_clean,
    schedule_replan,
    schedule_reserve,
    schedule_set,
    schedules_replan_for_account,
)

__all__ = [
    "GOAL_FIELDS",
    "SCHEDULE_FIELDS",
    "SessionOutcome",
    "battery_instruct",
    "flex_replan_all",
    "goal_clean",
    "goal_clear",
    "goal_replan",
    "goal_set",
    "household_set",
    "plan_outcome_settle",
    "plan_outcomes_settle",
    "profile_payload",
    "schedule_clean",
    "schedule_replan",
    "schedule_reserve",
    "schedule_set",
    "schedules_replan_for_account",
    "session_outcome",
    "session_outcomes",
    "session_savings_for_bill",
]
