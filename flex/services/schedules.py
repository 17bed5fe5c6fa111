"""Battery schedules: the one validator, planning a battery over the next day in the headroom the
household's EV leaves, and sending each half-hour's order through the batteries' expiring
instructions (``batteries.services.instruction_issue_planned``), so a planner that stops leaves
the unit to its own control within ``FLEX_BATTERY_INSTRUCTION_MINUTES``.

Orders: a planned charge or discharge is ``charge``/``discharge`` at the planned kW; a planned
zero is ``hold`` (the plan keeps the energy for a dearer half-hour). The reserve is the higher of
the schedule's and the unit's own minimum.
"""

from datetime import datetime, time
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batteries import services as battery_services
from batteries.models import Battery, BatteryInstruction, InstructionAction
from config.exceptions import InvalidInput

from ..models import BatteryPlan, BatterySchedule
from ..planner import BatteryRequest, plan_battery
from ..planner.battery import REASONS
from . import sources
from .horizon import Horizon, next_local_time, slot_floor
from .households import ev_planned_power_w, house_headroom_w, house_load_w

SCHEDULE_FIELDS = (
    "enabled",
    "charge_limit_w",
    "discharge_limit_w",
    "efficiency_pct",
    "reserve_pct",
    "target_soc_pct",
    "target_time",
)
_LIMITS = {
    "charge_limit_w": (100, 100_000, "100 to 100000 W"),
    "discharge_limit_w": (100, 100_000, "100 to 100000 W"),
    "efficiency_pct": (50, 100, "50 to 100 %"),
    "reserve_pct": (0, 100, "0 to 100 %"),
    "target_soc_pct": (0, 100, "0 to 100 %"),
}


def schedule_clean(**data) -> dict:
    """The one rule for a battery schedule (API, portal, admin): limits in W, a round-trip
    efficiency 50-100 %, an optional reserve, and a target SoC with its local time or neither."""
    errors: dict[str, list[str]] = {
        name: ["Unknown field."] for name in sorted(set(data) - set(SCHEDULE_FIELDS))
    }
    clean: dict = {"enabled": bool(data.get("enabled", True))}
    for name, (low, high, rule) in _LIMITS.items():
        value = data.get(name)
        if value in (None, ""):
            clean[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            errors[name] = [f"A whole number is required ({rule})."]
        elif not low <= int(value) <= high:
            errors[name] = [f"Must be {rule}."]
        else:
            clean[name] = int(value)
    target_time = data.get("target_time")
    clean["target_time"] = None
    if target_time not in (None, ""):
        try:
            clean["target_time"] = (
                target_time if isinstance(target_time, time) else time.fromisoformat(target_time)
            ).replace(second=0, microsecond=0, tzinfo=None)
        except (TypeError, ValueError):
            errors["target_time"] = ["A local time of day is required, e.g. 16:00."]
    if (clean.get("target_soc_pct") is None) != (clean["target_time"] is None) and not errors:
        errors["target_soc_pct"] = ["A target SoC needs its time, and a time its SoC."]
    if errors:
        raise InvalidInput(errors)
    for name, default in (
        ("charge_limit_w", 3000),
        ("discharge_limit_w", 3000),
        ("efficiency_pct", 90),
    ):
        clean[name] = clean[name] if clean[name] is not None else default
    return clean


@transaction.atomic
def schedule_set(*, battery: Battery, now: datetime | None = None, **data) -> BatterySchedule:
    clean = schedule_clean(**data)
    schedule, _ = BatterySchedule.objects.update_or_create(battery=battery, defaults=clean)
    if schedule.enabled:
        schedule_replan(schedule=schedule, now=now)
    return schedule


def schedule_reserve(*, schedule: BatterySchedule) -> Decimal:
    """The reserve the plan keeps: the schedule's, never below the unit's own minimum."""
    own = schedule.battery.min_soc_reserve
    return max(own, Decimal(schedule.reserve_pct)) if schedule.reserve_pct is not None else own


def _horizon(now: datetime) -> Horizon:
    return Horizon(now=now, starts_at=slot_floor(now), slots=settings.FLEX_BATTERY_HORIZON_SLOTS)


def _battery_request(schedule: BatterySchedule, horizon: Horizon) -> BatteryRequest:
    battery = schedule.battery
    account = battery.account
    prices = sources.prices_pence(account=account, start=horizon.starts_at, end=horizon.ends_at)
    exports = sources.prices_pence(
        account=account, start=horizon.starts_at, end=horizon.ends_at, direction="export"
    )
    ev = ev_planned_power_w(account=account, horizon=horizon)
    own = int(-(battery.power_kw or 0) * 1000)  # charging shows as negative kW
    load = house_load_w(account=account, horizon=horizon, own_power_w=max(own, 0))
    headroom = house_headroom_w(account=account, horizon=horizon, own_power_w=max(own, 0))
    reserve = schedule_reserve(schedule=schedule)
    target_slot = None
    if schedule.target_soc_pct is not None:
        due = next_local_time(after=horizon.now, at=schedule.target_time)
        target_slot = min(int((due - horizon.starts_at).total_seconds() // 1800), horizon.slots)
    return BatteryRequest(
        import_prices=prices,
        export_prices=exports,
        capacity_wh=int(battery.capacity_kwh * 1000),
        soc_pct=battery.soc_percent if battery.soc_percent is not None else reserve,
        reserve_pct=reserve,
        charge_limit_w=schedule.charge_limit_w,
        discharge_limit_w=schedule.discharge_limit_w,
        efficiency=Decimal(schedule.efficiency_pct) / 100,
        house_load_w=[house + car for house, car in zip(load, ev, strict=True)],
        headroom_w=[max(room - car, 0) for room, car in zip(headroom, ev, strict=True)],
        target_pct=None if schedule.target_soc_pct is None else Decimal(schedule.target_soc_pct),
        target_slot=target_slot,
    )


@transaction.atomic
def schedule_replan(*, schedule: BatterySchedule, now: datetime | None = None) -> BatteryPlan:
    """Plan the battery from now over the horizon and give it this half-hour's order."""
    now = now or timezone.now()
    horizon = _horizon(now)
    request = _battery_request(schedule, horizon)
    result = plan_battery(request)
    plan = BatteryPlan.objects.create(
        schedule=schedule,
        starts_at=horizon.starts_at,
        power_w=list(result.power_w),
        soc_pct=[str(s) for s in result.soc_pct],
        prices=[None if p is None else str(p) for p in request.import_prices],
        export_prices=[None if p is None else str(p) for p in request.export_prices],
        cost_pence=result.cost_pence,
        met=result.met,
        reason=REASONS.get(result.reason, ""),
    )
    battery_instruct(plan=plan, now=now)
    return plan


def battery_instruct(*, plan: BatteryPlan, now: datetime) -> BatteryInstruction | None:
    """Send the order of the half-hour ``now`` is in, lasting a little past its end, as the
    batteries' planned instruction (the same order again refreshes the one in force)."""
    slot = int((now - plan.starts_at).total_seconds() // 1800)
    if not 0 <= slot < len(plan.power_w):
        return None
    power = plan.power_w[slot]
    action = InstructionAction.HOLD
    if power > 0:
        action = InstructionAction.DISCHARGE
    elif power < 0:
        action = InstructionAction.CHARGE
    return battery_services.instruction_issue_planned(
        battery=plan.schedule.battery,
        action=action,
        power_kw=None if power == 0 else Decimal(abs(power)) / 1000,
        expires_in_minutes=settings.FLEX_BATTERY_INSTRUCTION_MINUTES,
    )


def schedules_replan_for_account(*, account, now: datetime | None = None) -> int:
    """Re-plan the household's batteries (after its EV plan changed: they share the headroom)."""
    if account is None:
        return 0
    schedules = BatterySchedule.objects.filter(enabled=True, battery__account=account)
    for schedule in schedules.select_related("battery"):
        schedule_replan(schedule=schedule, now=now)
    return len(schedules)
