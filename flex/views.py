"""Portal pages: the customer's smart-charging overview; a charger's goal form and its plan
(planned power against the price curve, projected cost against charging now, and what past
sessions cost and saved); a battery's schedule form and its plan (charge and discharge against
the import and export prices, target, reserve, projected saving). The forms go through the same
validators as the API (``goal_clean``, ``schedule_clean``)."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from config.exceptions import InvalidInput, NotFound

from . import selectors, services
from .models import BatterySchedule, ChargingGoal

GOAL_FORM_FIELDS = ("ready_by", "energy_wh", "max_power_w", "min_power_w", "price_cap")
SCHEDULE_FORM_FIELDS = (
    "reserve_pct",
    "target_soc_pct",
    "target_time",
    "charge_limit_w",
    "discharge_limit_w",
)


def _pence(values) -> list[float | None]:
    return [None if v is None else float(Decimal(v)) for v in values]


def _chart(plan, *, power_label: str, prices: list[tuple[str, list]]) -> dict:
    slots = selectors.plan_slots(plan=plan)
    return {
        "t": [int(s["valid_from"].timestamp()) for s in slots],
        "power_kw": [s["power_w"] / 1000 for s in slots],
        "power_label": power_label,
        "prices": [{"label": label, "values": _pence(values)} for label, values in prices],
    }


def _submitted(request, *, fields, checkbox: str, save) -> dict | None:
    """A POSTed form through its service: None once saved, else the refusal's errors by field
    (``{}`` when nothing was posted)."""
    if request.method != "POST":
        return {}
    data = {name: request.POST.get(name, "") for name in fields}
    data[checkbox] = request.POST.get(checkbox) == "on"
    try:
        save(data)
    except InvalidInput as error:
        return error.errors
    return None


def home_panel(request) -> dict | None:
    """The home page's panel: the customer's chargers' goals and batteries' plans, if they have
    a charger or a battery."""
    if not request.user.is_authenticated or not request.user.is_customer:
        return None
    goals = selectors.chargers_with_goals(user=request.user)
    schedules = selectors.batteries_with_schedules(user=request.user)
    return {"goals": goals, "schedules": schedules} if goals or schedules else None


@login_required
def overview(request):
    context = {
        "goals": selectors.chargers_with_goals(user=request.user),
        "schedules": selectors.batteries_with_schedules(user=request.user),
    }
    return render(request, "flex/overview.html", context)


def _goal_form_values(goal: ChargingGoal | None) -> dict:
    if goal is None:
        return {
            "ready_by": "07:00",
            "energy_wh": "",
            "max_power_w": 7400,
            "min_power_w": 1380,
            "price_cap": "",
        }
    return {
        "ready_by": goal.ready_by.strftime("%H:%M"),
        "energy_wh": goal.energy_wh or "",
        "max_power_w": goal.max_power_w,
        "min_power_w": goal.min_power_w,
        "price_cap": "" if goal.price_cap is None else goal.price_cap,
    }


@login_required
def charger_plan(request, pk: int):
    try:
        charger = selectors.charger_for_goal(user=request.user, charger_id=pk)
    except NotFound as error:
        raise Http404(error.message) from error
    errors = _submitted(
        request,
        fields=GOAL_FORM_FIELDS,
        checkbox="charge_now",
        save=lambda data: services.goal_set(charger=charger, **data),
    )
    if errors is None:
        messages.success(request, "Your charging goal is saved and planned.")
        return redirect("flex:charger-plan", pk=pk)
    goal = ChargingGoal.objects.filter(charger=charger).first()
    plan = selectors.plan_latest(goal=goal) if goal else None
    values = _goal_form_values(goal)
    if request.method == "POST":
        values |= {name: request.POST.get(name, "") for name in GOAL_FORM_FIELDS}
    context = {
        "charger": charger,
        "goal": goal,
        "plan": plan,
        "slots": selectors.plan_slots(plan=plan) if plan else [],
        "sessions": services.session_outcomes(goal=goal) if goal else [],
        "errors": errors,
        "values": values,
        "chart": _chart(plan, power_label="Planned power (kW)", prices=[("Price", plan.prices)])
        if plan
        else None,
    }
    return render(request, "flex/charger_plan.html", context, status=400 if errors else 200)


def _schedule_form_values(schedule: BatterySchedule | None) -> dict:
    if schedule is None:
        return {"charge_limit_w": 3000, "discharge_limit_w": 3000}
    return {
        "reserve_pct": schedule.reserve_pct,
        "target_soc_pct": schedule.target_soc_pct,
        "target_time": schedule.target_time.strftime("%H:%M") if schedule.target_time else "",
        "charge_limit_w": schedule.charge_limit_w,
        "discharge_limit_w": schedule.discharge_limit_w,
    }


@login_required
def battery_plan(request, key: str):
    try:
        battery = selectors.battery_for_schedule(user=request.user, key=key)
    except NotFound as error:
        raise Http404(error.message) from error
    errors = _submitted(
        request,
        fields=SCHEDULE_FORM_FIELDS,
        checkbox="enabled",
        save=lambda data: services.schedule_set(battery=battery, **data),
    )
    if errors is None:
        messages.success(request, "Your battery schedule is saved and planned.")
        return redirect("flex:battery-plan", key=battery.identifier)
    schedule = BatterySchedule.objects.filter(battery=battery).first()
    plan = selectors.battery_plan_latest(schedule=schedule) if schedule else None
    values = _schedule_form_values(schedule)
    if request.method == "POST":
        values |= {name: request.POST.get(name, "") for name in SCHEDULE_FORM_FIELDS}
    prices = []
    if plan:
        prices = [("Import price", plan.prices)]
        if any(p is not None for p in plan.export_prices):
            prices.append(("Export price", plan.export_prices))
    context = {
        "battery": battery,
        "schedule": schedule,
        "reserve": services.schedule_reserve(schedule=schedule) if schedule else None,
        "plan": plan,
        "saving": -plan.cost_pence if plan else None,
        "slots": selectors.battery_plan_slots(plan=plan) if plan else [],
        "errors": errors,
        "values": values,
        "chart": _chart(plan, power_label="Power (kW): + discharging, - charging", prices=prices)
        if plan
        else None,
    }
    return render(request, "flex/battery_plan.html", context, status=400 if errors else 200)
