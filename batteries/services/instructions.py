"""Instructions to batteries: issued by rules or by hand, delivered over MQTT, answered by the unit.

Lifecycle: pending -> sent -> acknowledged | rejected; any unfinished one -> expired (its
``expires_at`` passed without a refresh), failed (the broker did not take it) or superseded (a newer
instruction for the same battery replaced it). A battery has at most one instruction in force.

Every instruction carries its expiry to the unit: a unit whose controller stops refreshing falls
back to its own control instead of staying in forced charge. The rule pass refreshes the
instruction of a rule that still wins by extending ``expires_at`` and sending it again (same id).

A manual instruction in force is not overridden by rules: rules resume once it ends.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.exceptions import InvalidInput

from ..conditions import rule_winning
from ..models import (
    ACTIVE_INSTRUCTION_STATUSES,
    AlertStatus,
    Battery,
    BatteryAlert,
    BatteryInstruction,
    BatteryStatus,
    InstructionAction,
    InstructionRule,
    InstructionSource,
    InstructionStatus,
)
from ..sql import field_in
from .delivery import _deliver_on_commit

log = logging.getLogger(__name__)


def instruction_parameters_clean(
    *, action: str, power_kw=None, reserve_soc=None
) -> tuple[Decimal | None, Decimal | None]:
    """The one rule for what each action needs: charge/discharge a power above 0 kW (at most
    1000), set_reserve a reserve 0-100 %, hold and idle nothing."""
    errors: dict[str, list[str]] = {}
    if action not in InstructionAction.values:
        raise InvalidInput(
            {"action": [f"Action must be one of {', '.join(InstructionAction.values)}."]}
        )

    def number(name, value):
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            errors[name] = ["A number is required."]
            return None

    power = number("power_kw", power_kw) if power_kw not in (None, "") else None
    reserve = number("reserve_soc", reserve_soc) if reserve_soc not in (None, "") else None
    if action in (InstructionAction.CHARGE, InstructionAction.DISCHARGE):
        if power is None and "power_kw" not in errors:
            errors["power_kw"] = [f"{action.capitalize()} needs a power in kW."]
        elif power is not None and not 0 < power <= 1000:
            errors["power_kw"] = ["Power must be above 0 and at most 1000 kW."]
        if reserve is not None:
            errors["reserve_soc"] = [f"{action.capitalize()} takes no reserve."]
    elif action == InstructionAction.SET_RESERVE:
        if reserve is None and "reserve_soc" not in errors:
            errors["reserve_soc"] = ["Setting the reserve needs a reserve_soc in %."]
        elif reserve is not None and not 0 <= reserve <= 100:
            errors["reserve_soc"] = ["A reserve is a percentage from 0 to 100."]
        if power is not None:
            errors["power_kw"] = ["Setting the reserve takes no power."]
    else:
        if power is not None:
            errors["power_kw"] = [f"{action.capitalize()} takes no power."]
        if reserve is not None:
            errors["reserve_soc"] = [f"{action.capitalize()} takes no reserve."]
    if errors:
        raise InvalidInput(errors)
    return power, reserve


def _supersede(battery_ids, *, now: datetime, detail: str) -> int:
    return BatteryInstruction.objects.filter(
        field_in("battery_id", battery_ids, "uuid"), status__in=ACTIVE_INSTRUCTION_STATUSES
    ).update(status=InstructionStatus.SUPERSEDED, finished_at=now, detail=detail[:300])


@transaction.atomic
def instruction_issue_manual(
    *,
    battery: Battery,
    action: str,
    requested_by,
    power_kw=None,
    reserve_soc=None,
    expires_in_minutes: int | None = None,
) -> BatteryInstruction:
    """An operator's instruction: replaces whatever is in force for the battery and is sent once
    committed. It lasts ``expires_in_minutes`` (default: the setting
    BATTERIES_MANUAL_INSTRUCTION_TTL_MINUTES)."""
    power, reserve = instruction_parameters_clean(
        action=action, power_kw=power_kw, reserve_soc=reserve_soc
    )
    if reserve is not None and reserve >= battery.max_soc_reserve:
        raise InvalidInput(
            {
                "reserve_soc": [
                    f"The reserve must be below the battery's maximum of "
                    f"{battery.max_soc_reserve} %."
                ]
            }
        )
    minutes = expires_in_minutes or settings.BATTERIES_MANUAL_INSTRUCTION_TTL_MINUTES
    if not 1 <= minutes <= 7 * 24 * 60:
        raise InvalidInput({"expires_in_minutes": ["Expiry must be 1 minute to 7 days."]})
    now = timezone.now()
    # Serialises with telemetry and monitoring of this battery (see telemetry's lock order).
    Battery.objects.select_for_update(no_key=True).filter(pk=battery.pk).first()
    _supersede([battery.pk], now=now, detail="Replaced by a manual instruction.")
    instruction = BatteryInstruction.objects.create(
        battery=battery,
        source=InstructionSource.MANUAL,
        requested_by=requested_by,
        action=action,
        power_kw=power,
        reserve_soc=reserve,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    _deliver_on_commit([instruction.pk])
    return instruction


@transaction.atomic
def instructions_expire(*, now: datetime | None = None) -> int:
    """End every instruction whose expiry passed without a refresh."""
    now = now or timezone.now()
    return BatteryInstruction.objects.filter(
        status__in=ACTIVE_INSTRUCTION_STATUSES, expires_at__lte=now
    ).update(
        status=InstructionStatus.EXPIRED,
        finished_at=now,
        detail="Expired: not refreshed before its expiry.",
    )


class _RuleIndex:
    """The enabled rules by scope, so finding a battery's candidates does not scan every rule."""

    def __init__(self, rules: list[InstructionRule]):
        self.by_battery: dict = defaultdict(list)
        self.by_account: dict = defaultdict(list)
        self.by_prefix: list[InstructionRule] = []
        for rule in rules:
            if rule.battery_id is not None:
                self.by_battery[rule.battery_id].append(rule)
            elif rule.account_id is not None:
                self.by_account[rule.account_id].append(rule)
            else:
                self.by_prefix.append(rule)

    def scope(self) -> Q:
        """The batteries any rule applies to."""
        scope = field_in("pk", self.by_battery, "uuid") | field_in(
            "account_id", self.by_account, "bigint"
        )
        for rule in self.by_prefix:
            scope |= Q(identifier__startswith=rule.identifier_prefix)
        return scope

    def candidates(self, battery: Battery) -> list[InstructionRule]:
        """The rules that apply to the battery, strongest first (priority, then age)."""
        rules = self.by_battery.get(battery.pk, []) + self.by_account.get(battery.account_id, [])
        rules += [r for r in self.by_prefix if battery.identifier.startswith(r.identifier_prefix)]
        return sorted(rules, key=lambda rule: (-rule.priority, rule.created_at, rule.pk))


def _same_order(instruction: BatteryInstruction, rule: InstructionRule) -> bool:
    return (
        instruction.rule_id == rule.pk
        and instruction.action == rule.action
        and instruction.power_kw == rule.power_kw
        and instruction.reserve_soc == rule.reserve_soc
    )


def _rule_pass_reads(index: _RuleIndex) -> tuple[list[Battery], set, dict]:
    """What the rule pass reads: the online batteries some rule may cover, those with unresolved
    alerts, and the instructions in force (locked: the pass replaces or refreshes them)."""
    batteries = list(
        Battery.objects.filter(index.scope(), last_seen__isnull=False)
        .exclude(status=BatteryStatus.OFFLINE)
        .only(
            "pk",
            "identifier",
            "account_id",
            "soc_percent",
            "temperature_c",
            "last_seen",
            "status",
        )
    )
    ids = [battery.pk for battery in batteries]
    alerted = set(
        BatteryAlert.objects.filter(field_in("battery_id", ids, "uuid"))
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("battery_id", flat=True)
    )
    in_force = {
        instruction.battery_id: instruction
        for instruction in BatteryInstruction.objects.select_for_update().filter(
            field_in("battery_id", ids, "uuid"), status__in=ACTIVE_INSTRUCTION_STATUSES
        )
    }
    return batteries, alerted, in_force


@transaction.atomic
def rules_evaluate(*, now: datetime | None = None) -> dict[str, int]:
    """Expire lapsed instructions, then give every online battery the instruction of its winning
    rule: refresh the one in force if it is the same, otherwise supersede it with a new one.
    Batteries under a manual instruction, and offline ones, are left alone. The queries are a
    fixed number (batteries, rules, alerts, instructions in force, a few bulk writes); matching
    happens in memory."""
    now = now or timezone.now()
    expired = instructions_expire(now=now)
    rules = list(InstructionRule.objects.filter(enabled=True))
    counts = {"expired": expired, "issued": 0, "refreshed": 0}
    if not rules:
        return counts
    index = _RuleIndex(rules)
    batteries, alerted, in_force = _rule_pass_reads(index)
    expires_at = now + timedelta(minutes=settings.BATTERIES_RULE_INSTRUCTION_TTL_MINUTES)
    refresh, new, replaced = [], [], []
    for battery in batteries:
        current = in_force.get(battery.pk)
        if current is not None and current.source == InstructionSource.MANUAL:
            continue
        rule = rule_winning(
            rules=index.candidates(battery),
            battery=battery,
            at=now,
            has_alerts=battery.pk in alerted,
        )
        if rule is None:
            continue  # whatever is in force lapses at its expiry
        if current is not None and _same_order(current, rule):
            refresh.append(current.pk)
            continue
        if current is not None:
            replaced.append(battery.pk)
        new.append(
            BatteryInstruction(
                battery_id=battery.pk,
                source=InstructionSource.RULE,
                rule=rule,
                action=rule.action,
                power_kw=rule.power_kw,
                reserve_soc=rule.reserve_soc,
                created_at=now,
                expires_at=expires_at,
            )
        )
    _supersede(replaced, now=now, detail="Replaced: another rule now wins.")
    BatteryInstruction.objects.filter(field_in("pk", refresh, "uuid")).update(
        expires_at=expires_at, refreshed_at=now
    )
    BatteryInstruction.objects.bulk_create(new, batch_size=2000)
    _deliver_on_commit(refresh + [instruction.pk for instruction in new])
    counts["issued"], counts["refreshed"] = len(new), len(refresh)
    return counts
