"""The beat's re-plan: prices change (tomorrow's arrive in the afternoon), houses draw more or
less, half-hours pass. Every goal first, then every battery in what the EVs leave."""

import logging
from datetime import datetime

from django.db import close_old_connections
from django.utils import timezone

from ..models import BatterySchedule, ChargingGoal
from .goals import goal_replan
from .schedules import schedule_replan

log = logging.getLogger(__name__)


def flex_replan_all(*, now: datetime | None = None) -> dict[str, int]:
    """One goal or battery that fails is logged and skipped; the others are still planned."""
    now = now or timezone.now()
    counts = {"goals": 0, "batteries": 0, "failed": 0}
    close_old_connections()
    for goal in ChargingGoal.objects.select_related("charger", "charger__account"):
        try:
            goal_replan(goal=goal, now=now)
            counts["goals"] += 1
        except Exception:
            log.exception("re-planning the goal of charger %s failed", goal.charger_id)
            counts["failed"] += 1
    for schedule in BatterySchedule.objects.filter(enabled=True).select_related("battery"):
        try:
            schedule_replan(schedule=schedule, now=now)
            counts["batteries"] += 1
        except Exception:
            log.exception("re-planning battery %s failed", schedule.battery_id)
            counts["failed"] += 1
    return counts
