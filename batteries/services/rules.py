"""Instruction rules: the one place their shape is checked (API and admin both come here)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from config.exceptions import InvalidInput

from ..models import InstructionRule
from .instructions import instruction_parameters_clean

RULE_FIELDS = (
    "name", "enabled", "priority", "battery", "account", "identifier_prefix", "soc_above",
    "soc_below", "window_start", "window_end", "tariff_window", "temperature_below",
    "only_without_alerts", "action", "power_kw", "reserve_soc",
)  # fmt: skip


def rule_clean(rule: InstructionRule) -> None:
    """Raise InvalidInput naming each field that breaks a rule's shape: exactly one scope,
    a window with both ends, SoC bounds that can both hold, the action's parameters."""
    errors: dict[str, list[str]] = {}
    scopes = [
        rule.battery_id is not None,
        rule.account_id is not None,
        bool(rule.identifier_prefix),
    ]
    if sum(scopes) != 1:
        errors["battery"] = ["Give exactly one of battery, account or identifier_prefix."]
    if (rule.window_start is None) != (rule.window_end is None):
        errors["window_end"] = ["A time window needs both window_start and window_end."]
    elif rule.window_start is not None and rule.window_start == rule.window_end:
        errors["window_end"] = ["The window is empty: its end equals its start."]
    if (
        rule.soc_above is not None
        and rule.soc_below is not None
        and rule.soc_above >= rule.soc_below
    ):
        errors["soc_below"] = ["soc_below must be above soc_above, or the rule never holds."]
    try:
        rule.power_kw, rule.reserve_soc = instruction_parameters_clean(
            action=rule.action, power_kw=rule.power_kw, reserve_soc=rule.reserve_soc
        )
    except InvalidInput as exc:
        errors |= exc.errors
    if rule.identifier_prefix:
        rule.identifier_prefix = rule.identifier_prefix.upper()
    if errors:
        raise InvalidInput(errors)
    try:
        rule.full_clean()
    except ValidationError as exc:
        raise InvalidInput.from_model(exc) from exc


@transaction.atomic
def rule_save(*, rule: InstructionRule) -> InstructionRule:
    """Check and store a new or changed rule; the next rule pass applies it."""
    rule_clean(rule)
    rule.save()
    return rule


@transaction.atomic
def rule_create(**fields) -> InstructionRule:
    return rule_save(rule=InstructionRule(**fields))


@transaction.atomic
def rule_update(*, rule: InstructionRule, **fields) -> InstructionRule:
    for name, value in fields.items():
        setattr(rule, name, value)
    return rule_save(rule=rule)


@transaction.atomic
def rule_delete(*, rule: InstructionRule) -> None:
    """Delete a rule. Its instructions stay for audit (their rule becomes blank) and lapse at
    their expiry."""
    rule.delete()
