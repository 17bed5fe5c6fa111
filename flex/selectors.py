"""Reads of the flex app, scoped to the requesting user through the charging and batteries
apps' own scoping (a customer reaches only their own chargers and batteries)."""

from datetime import timedelta
from decimal import Decimal

from accounts.models import User
from batteries import selectors as battery_selectors
from charging import selectors as charging_selectors
from charging.models import Charger
from config.exceptions import NotFound

from .models import BatteryPlan, BatterySchedule, ChargingGoal, ChargingPlan

HALF_HOUR = timedelta(minutes=30)


def chargers_with_goals(*, user: User) -> list[tuple[Charger, ChargingGoal | None]]:
    """The user's chargers, each with its goal (None: no goal set)."""
    chargers = list(charging_selectors.chargers_for_user(user=user).order_by("charge_point_id"))
    goals = {g.charger_id: g for g in ChargingGoal.objects.filter(charger__in=chargers)}
    return [(charger, goals.get(charger.pk)) for charger in chargers]


def batteries_with_schedules(*, user: User) -> list[tuple]:
    """The user's batteries, each with its schedule (None: not under the planner)."""
    batteries = list(battery_selectors.battery_list(user=user))
    schedules = {s.battery_id: s for s in BatterySchedule.objects.filter(battery__in=batteries)}
    return [(battery, schedules.get(battery.pk)) for battery in batteries]


def charger_for_goal(*, user: User, charger_id: int) -> Charger:
    return charging_selectors.charger_for_user(user=user, charger_id=charger_id)


def goal_for_user(*, user: User, charger_id: int) -> ChargingGoal:
    charger = charger_for_goal(user=user, charger_id=charger_id)
    goal = ChargingGoal.objects.filter(charger=charger).select_related("charger").first()
    if goal is None:
        raise NotFound("This charger has no charging goal.")
    return goal


def goal_of(*, charger: Charger) -> ChargingGoal | None:
    return ChargingGoal.objects.filter(charger=charger).first()


def schedule_of(*, battery) -> BatterySchedule | None:
    return BatterySchedule.objects.filter(battery=battery).first()


def plan_latest(*, goal: ChargingGoal) -> ChargingPlan | None:
    return goal.plans.select_related("command").first()


def battery_for_schedule(*, user: User, key: str):
    return battery_selectors.battery_get(user=user, key=key)


def schedule_for_user(*, user: User, key: str) -> BatterySchedule:
    battery = battery_selectors.battery_get(user=user, key=key)
    schedule = BatterySchedule.objects.filter(battery=battery).select_related("battery").first()
    if schedule is None:
        raise NotFound("This battery has no schedule.")
    return schedule


def battery_plan_latest(*, schedule: BatterySchedule) -> BatteryPlan | None:
    return schedule.plans.first()


def battery_plan_slots(*, plan: BatteryPlan) -> list[dict]:
    """``plan_slots`` with each half-hour's SoC at its start and its export price."""
    exports = plan.export_prices or [None] * len(plan.power_w)  # plans made before they were kept
    # soc_pct has one more entry than there are half-hours (the SoC at the horizon's end).
    return [
        slot | {"soc_pct": Decimal(soc), "export_price": None if e is None else Decimal(e)}
        for slot, soc, e in zip(plan_slots(plan=plan), plan.soc_pct, exports, strict=False)
    ]


def plan_slots(*, plan: ChargingPlan | BatteryPlan) -> list[dict]:
    """The plan half-hour by half-hour: its times, power and the price it was planned with."""
    return [
        {
            "valid_from": plan.starts_at + index * HALF_HOUR,
            "valid_to": plan.starts_at + (index + 1) * HALF_HOUR,
            "power_w": power,
            "price": None if price is None else Decimal(price),
        }
        for index, (power, price) in enumerate(zip(plan.power_w, plan.prices, strict=True))
    ]
