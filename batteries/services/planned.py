"""A planner's instructions (the flex app's battery schedules): the order of one half-hour,
through the same expiring-instruction channel as an operator's, so a planner that stops leaves
the unit to its own control (and to the rules) once the last order expires.

It is issued as a manual instruction with nobody as its requester (rules do not override it
while it is in force). Re-planning every few minutes usually gives the same order again: then the
instruction in force is refreshed (a later expiry, sent again with the same id) rather than
replaced, so the unit sees one instruction per change of order, not one per re-plan.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from config.exceptions import InvalidInput

from ..models import ACTIVE_INSTRUCTION_STATUSES, Battery, BatteryInstruction, InstructionSource
from .delivery import _deliver_on_commit
from .instructions import instruction_issue_manual, instruction_parameters_clean


@transaction.atomic
def instruction_issue_planned(
    *, battery: Battery, action: str, power_kw: Decimal | None, expires_in_minutes: int
) -> BatteryInstruction:
    """Give the battery a planner's order lasting ``expires_in_minutes`` from now: refresh the
    planner's instruction in force if it orders the same, otherwise replace whatever is in force.
    Refused like an operator's (``instruction_parameters_clean``)."""
    power, _ = instruction_parameters_clean(action=action, power_kw=power_kw)
    if not 1 <= expires_in_minutes <= 24 * 60:
        raise InvalidInput({"expires_in_minutes": ["A planned order lasts 1 minute to 1 day."]})
    Battery.objects.select_for_update(no_key=True).filter(pk=battery.pk).first()
    current = (
        BatteryInstruction.objects.filter(
            battery=battery,
            status__in=ACTIVE_INSTRUCTION_STATUSES,
            source=InstructionSource.MANUAL,
            requested_by__isnull=True,
        )
        .order_by("-created_at")
        .first()
    )
    if current is not None and current.action == action and current.power_kw == power:
        now = timezone.now()
        current.expires_at = now + timedelta(minutes=expires_in_minutes)
        current.refreshed_at = now
        current.save(update_fields=["expires_at", "refreshed_at"])
        _deliver_on_commit([current.pk])
        return current
    return instruction_issue_manual(
        battery=battery,
        action=action,
        requested_by=None,
        power_kw=power,
        expires_in_minutes=expires_in_minutes,
    )
