"""Whether an instruction rule applies to a battery and its conditions hold: pure reads of a rule
and a battery's current state, shared by the selectors (which rules a battery is under) and the
rule pass (which rule wins)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from .models import Battery, InstructionRule
from .tariffs import tariff_window_at


def _in_window(rule: InstructionRule, local_time) -> bool:
    start, end = rule.window_start, rule.window_end
    if start <= end:
        return start <= local_time < end
    return local_time >= start or local_time < end  # wraps past midnight


def rule_holds(*, rule: InstructionRule, battery: Battery, at: datetime, has_alerts: bool) -> bool:
    """Whether every condition the rule sets holds for the battery's current state at ``at``."""
    if rule.soc_above is not None and not (
        battery.soc_percent is not None and battery.soc_percent > rule.soc_above
    ):
        return False
    if rule.soc_below is not None and not (
        battery.soc_percent is not None and battery.soc_percent < rule.soc_below
    ):
        return False
    if rule.temperature_below is not None and not (
        battery.temperature_c is not None and battery.temperature_c < rule.temperature_below
    ):
        return False
    if rule.only_without_alerts and has_alerts:
        return False
    if rule.window_start is not None:
        local = at.astimezone(ZoneInfo(settings.TIME_ZONE)).time()
        if not _in_window(rule, local):
            return False
    return not (
        rule.tariff_window and tariff_window_at(battery=battery, at=at) != rule.tariff_window
    )


def rule_applies_to(rule: InstructionRule, battery: Battery) -> bool:
    if rule.battery_id is not None:
        return rule.battery_id == battery.pk
    if rule.account_id is not None:
        return rule.account_id == battery.account_id
    return battery.identifier.startswith(rule.identifier_prefix)


def rule_winning(
    *, rules: list[InstructionRule], battery: Battery, at: datetime, has_alerts: bool
) -> InstructionRule | None:
    """The first rule (rules come strongest first: priority, then age) whose conditions hold."""
    for rule in rules:
        if rule_applies_to(rule, battery) and rule_holds(
            rule=rule, battery=battery, at=at, has_alerts=has_alerts
        ):
            return rule
    return None
