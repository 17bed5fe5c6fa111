"""Charging goals: the one validator, setting and clearing a goal, planning it and sending the
plan to the charger as an OCPP 1.6 charging profile through charging.services' command path.

A plan is sent as a ``TxDefaultProfile`` on the goal's connector (it applies to the session in
progress and to the next one), ``Absolute``, in W, starting now and lasting until ready-by;
after that the charger is unlimited again, so a car the plan could not fill still charges. The
profile id is the goal's own, so each new plan replaces the last one on the charger.

If the charger refuses the profile, or cannot be reached, the goal falls back to charging now
(without a profile a charger charges at once) and the customer is told so on the goal.
"""

from datetime import datetime, time
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from charging import services as charging_services
from charging.models import Charger, CommandStatus
from config.exceptions import ApplicationError, InvalidInput

from ..models import ChargingGoal, ChargingPlan, Delivery, GoalState
from ..planner import EvRequest, plan_ev
from ..planner.ev import REASONS
from . import sources
from .horizon import horizon_until, next_local_time
from .households import house_headroom_w
from .schedules import schedules_replan_for_account

GOAL_FIELDS = (
    "ready_by",
    "energy_wh",
    "target_soc_pct",
    "vehicle_capacity_wh",
    "max_power_w",
    "min_power_w",
    "price_cap",
    "charge_now",
    "connector_id",
)
FALLBACK_NOTICE = (
    "Your charger did not take the smart-charging plan ({why}), so it charges at once. "
    "We will try again when the plan changes."
)


def _integer(errors, name, value, low, high, rule):
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors[name] = [f"A whole number is required ({rule})."]
        return None
    try:
        number = int(value)
    except ValueError:
        errors[name] = [f"A whole number is required ({rule})."]
        return None
    if not low <= number <= high:
        errors[name] = [f"Must be {rule}."]
        return None
    return number


def _ready_by(errors, value) -> time | None:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        return time.fromisoformat(str(value)).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        errors["ready_by"] = ["A local time of day is required, e.g. 07:00."]
        return None


def _price_cap(errors, value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        cap = Decimal(str(value))
    except InvalidOperation:
        errors["price_cap"] = ["A price in pence per kWh is required, e.g. 15.5."]
        return None
    if not cap.is_finite() or not Decimal(-100) <= cap <= Decimal(1000):
        errors["price_cap"] = ["A price cap is -100 to 1000 pence per kWh."]
        return None
    if cap != cap.quantize(Decimal("0.001")):
        errors["price_cap"] = ["A price cap has at most 3 decimal places."]
        return None
    return cap


def goal_clean(**data) -> dict:
    """The one rule for a charging goal, used by the API, the portal form and the admin: a
    ready-by local time; either ``energy_wh`` (1 Wh - 200 kWh) or a ``target_soc_pct`` (1-100)
    with the car's ``vehicle_capacity_wh`` (1-250 kWh); ``max_power_w`` 1-50 kW; an optional
    ``price_cap`` in p/kWh; ``charge_now``; ``min_power_w`` 0 to ``max_power_w`` (default
    1380 W, 6 A on one phase). Raises InvalidInput naming every field broken."""
    unknown = set(data) - set(GOAL_FIELDS)
    errors: dict[str, list[str]] = {name: ["Unknown field."] for name in sorted(unknown)}
    clean = {
        "ready_by": _ready_by(errors, data.get("ready_by"))
        if data.get("ready_by") not in (None, "")
        else None,
        "energy_wh": _integer(
            errors, "energy_wh", data.get("energy_wh"), 1, 200_000, "1 to 200000 Wh"
        ),
        "target_soc_pct": _integer(
            errors, "target_soc_pct", data.get("target_soc_pct"), 1, 100, "1 to 100 %"
        ),
        "vehicle_capacity_wh": _integer(
            errors,
            "vehicle_capacity_wh",
            data.get("vehicle_capacity_wh"),
            1000,
            250_000,
            "1000 to 250000 Wh",
        ),
        "max_power_w": _integer(
            errors, "max_power_w", data.get("max_power_w", 7400), 1000, 50_000, "1000 to 50000 W"
        ),
        "min_power_w": _integer(
            errors, "min_power_w", data.get("min_power_w", 1380), 0, 50_000, "0 to 50000 W"
        ),
        "price_cap": _price_cap(errors, data.get("price_cap")),
        "charge_now": bool(data.get("charge_now", False)),
        "connector_id": _integer(
            errors, "connector_id", data.get("connector_id", 1), 0, 99, "a connector 0 to 99"
        ),
    }
    for name, default in (("max_power_w", 7400), ("min_power_w", 1380)):
        if clean[name] is None and name not in errors:  # sent empty or null: the default
            clean[name] = default
    if clean["ready_by"] is None and "ready_by" not in errors:
        errors["ready_by"] = ["A ready-by time is required."]
    has_energy, has_soc = (
        data.get("energy_wh") not in (None, ""),
        data.get("target_soc_pct") not in (None, ""),
    )
    if has_energy == has_soc and "energy_wh" not in errors:
        errors["energy_wh"] = ["Give either energy_wh or target_soc_pct, not both or neither."]
    if has_soc and clean["vehicle_capacity_wh"] is None and "vehicle_capacity_wh" not in errors:
        errors["vehicle_capacity_wh"] = ["A target SoC needs the car's battery capacity."]
    low, high = clean["min_power_w"], clean["max_power_w"]
    if low is not None and high is not None and low > high:
        errors["min_power_w"] = ["The minimum power must not exceed max_power_w."]
    if errors:
        raise InvalidInput(errors)
    if not has_soc:
        clean["vehicle_capacity_wh"] = None
    return clean


@transaction.atomic
def goal_set(*, charger: Charger, now: datetime | None = None, **data) -> ChargingGoal:
    """Create or replace the charger's goal and re-plan it at once."""
    clean = goal_clean(**data)
    goal, _ = ChargingGoal.objects.select_for_update().update_or_create(
        charger=charger, defaults=clean | {"state": GoalState.PLANNED, "notice": ""}
    )
    goal_replan(goal=goal, now=now)
    schedules_replan_for_account(account=charger.account, now=now)
    return goal


@transaction.atomic
def goal_clear(*, goal: ChargingGoal) -> None:
    """Remove a goal and its profile from the charger (which then charges at once)."""
    _profile_clear(goal)
    goal.delete()


def _needed_wh(goal: ChargingGoal) -> tuple[int, str]:
    if goal.energy_wh is not None:
        return goal.energy_wh, ""
    soc = sources.vehicle_soc_pct(charger=goal.charger, connector_id=goal.connector_id)
    if soc is None:
        return goal.vehicle_capacity_wh * goal.target_soc_pct // 100, (
            "The car has not reported its state of charge: planned as if it were empty."
        )
    missing = max(Decimal(goal.target_soc_pct) - soc, Decimal(0))
    return int(missing * goal.vehicle_capacity_wh / 100), ""


def _plan_compute(goal: ChargingGoal, now: datetime) -> tuple[ChargingPlan, str]:
    ready_at = next_local_time(after=now, at=goal.ready_by)
    horizon = horizon_until(now=now, until=ready_at)
    account = goal.charger.account
    prices = (
        sources.prices_pence(account=account, start=horizon.starts_at, end=horizon.ends_at)
        if account is not None and horizon.slots
        else [None] * horizon.slots
    )
    headroom = house_headroom_w(
        account=account, horizon=horizon, own_power_w=sources.charger_power_w(charger=goal.charger)
    )
    # Only what is left of the half-hour now can be used in it.
    fraction = horizon.first_slot_fraction
    if horizon.slots:
        headroom[0] = int(min(headroom[0], goal.max_power_w) * fraction)
    needed, note = _needed_wh(goal)
    request = EvRequest(
        prices=prices,
        energy_wh=needed,
        ready_by=horizon.slots,
        max_power_w=goal.max_power_w,
        headroom_w=headroom,
        price_cap=goal.price_cap,
        min_power_w=goal.min_power_w,
        first_slot_fraction=fraction,
    )
    smart, now_plan = plan_ev(request), plan_ev(request, immediate=True)
    if goal.charge_now:  # what the charger will do: the household's battery plans around it
        smart = now_plan
    plan = ChargingPlan(
        goal=goal,
        starts_at=horizon.starts_at,
        ready_at=ready_at,
        power_w=list(smart.power_w),
        prices=[None if p is None else str(p) for p in prices],
        needed_wh=needed,
        delivered_wh=smart.delivered_wh,
        cost_pence=smart.cost_pence,
        charge_now_cost_pence=now_plan.cost_pence,
        unpriced_wh=smart.unpriced_wh,
        met=smart.met,
        reason=REASONS.get(smart.reason, ""),
    )
    return plan, note


@transaction.atomic
def goal_replan(*, goal: ChargingGoal, now: datetime | None = None) -> ChargingPlan:
    """Plan the goal from now and send the plan to the charger (or, for charge-now, clear the
    goal's profile so the charger runs unlimited). A charger that cannot take it (offline,
    rejected) leaves the goal in fallback at once; an answer still to come is settled by
    ``plan_outcome_settle``."""
    now = now or timezone.now()
    previous = goal.plans.select_related("command").first()
    plan, note = _plan_compute(goal, now)
    plan.save()
    goal.state, goal.notice = GoalState.PLANNED, note
    if goal.charge_now:
        _profile_clear(goal)
        goal.state = GoalState.CHARGE_NOW
    elif _same_as_on_the_charger(plan, previous):
        plan.command, plan.delivery = previous.command, Delivery.ACCEPTED
        plan.save(update_fields=["command", "delivery"])
    else:
        _profile_send(goal, plan, now)
    goal.save(update_fields=["state", "notice", "updated_at"])
    plan_outcome_settle(plan=plan)
    goal.refresh_from_db(fields=["state", "notice", "updated_at"])
    return plan


def _same_as_on_the_charger(plan: ChargingPlan, previous: ChargingPlan | None) -> bool:
    """The charger already follows this plan (accepted, same ready-by, same power in every
    slot from now): re-sending it every few minutes would cost a fleet's worth of traffic."""
    if previous is None or previous.delivery != Delivery.ACCEPTED:
        return False
    if previous.ready_at != plan.ready_at:
        return False
    shift = int((plan.starts_at - previous.starts_at).total_seconds() // 1800)
    return previous.power_w[shift:] == plan.power_w if shift >= 0 else False


def _profile_send(goal: ChargingGoal, plan: ChargingPlan, now: datetime) -> None:
    try:
        plan.command = charging_services.command_create(
            charger=goal.charger,
            operation="SetChargingProfile",
            payload=profile_payload(goal=goal, plan=plan, now=now),
        )
        plan.delivery = Delivery.PENDING
    except ApplicationError as exc:  # a rejected charger: the central system sends it nothing
        plan.delivery = Delivery.REFUSED
        goal.state = GoalState.FALLBACK
        goal.notice = FALLBACK_NOTICE.format(why=exc.message.rstrip(".").lower())
    plan.save(update_fields=["command", "delivery"])


def profile_payload(*, goal: ChargingGoal, plan: ChargingPlan, now: datetime) -> dict:
    """The SetChargingProfile request of a plan: one period per run of equal power, W."""
    periods, fraction = [], None
    for index, power in enumerate(plan.power_w):
        start = 0 if index == 0 else int((plan.starts_at - now).total_seconds()) + index * 1800
        if index == 0:
            fraction = max((plan.starts_at - now).total_seconds() / 1800 + 1, 1e-3)
            power = min(round(power / fraction), goal.max_power_w)
        if not periods or periods[-1]["limit"] != float(power):
            periods.append({"startPeriod": start, "limit": float(power)})
    duration = max(int((plan.ready_at - now).total_seconds()), 1)
    schedule = {
        "duration": duration,
        "startSchedule": now.astimezone().isoformat(),
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": periods or [{"startPeriod": 0, "limit": 0.0}],
    }
    return {
        "connectorId": goal.connector_id,
        "csChargingProfiles": {
            "chargingProfileId": goal.profile_id,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "validFrom": now.isoformat(),
            "validTo": plan.ready_at.isoformat(),
            "chargingSchedule": schedule,
        },
    }


def _profile_clear(goal: ChargingGoal) -> None:
    if goal.charger.connected:
        charging_services.command_create(
            charger=goal.charger, operation="ClearChargingProfile", payload={"id": goal.profile_id}
        )


@transaction.atomic
def plan_outcome_settle(*, plan: ChargingPlan) -> ChargingPlan:
    """Record the charger's answer to the plan's profile once it has one: accepted, or refused
    (rejected, an error, no answer, not connected) -> the goal falls back to charging now and
    says why."""
    if plan.delivery != Delivery.PENDING or plan.command_id is None:
        return plan
    command = plan.command
    command.refresh_from_db(fields=["status", "error_code", "error_description"])
    if command.status == CommandStatus.PENDING:
        return plan
    goal = ChargingGoal.objects.select_for_update().get(pk=plan.goal_id)
    if command.status == CommandStatus.ACCEPTED:
        plan.delivery = Delivery.ACCEPTED
    else:
        plan.delivery = Delivery.REFUSED
        latest = goal.plans.latest()
        if latest.pk == plan.pk and not goal.charge_now:
            why = {
                CommandStatus.REJECTED: "it rejected the profile",
                CommandStatus.OFFLINE: "it is not connected",
                CommandStatus.TIMEOUT: "it did not answer",
            }.get(command.status, f"it answered with an error: {command.error_code or 'unknown'}")
            goal.state, goal.notice = GoalState.FALLBACK, FALLBACK_NOTICE.format(why=why)
            goal.save(update_fields=["state", "notice", "updated_at"])
    plan.save(update_fields=["delivery"])
    return plan


def plan_outcomes_settle() -> int:
    """Settle every plan still waiting for its charger's answer (beat, every 30 s)."""
    settled = 0
    for plan in ChargingPlan.objects.filter(delivery=Delivery.PENDING).select_related("command"):
        if plan_outcome_settle(plan=plan).delivery != Delivery.PENDING:
            settled += 1
    return settled
