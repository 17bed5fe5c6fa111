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
from django.urls import reverse

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


def _owned(lookup):
    """The customer's own charger or battery, or 404 (another's is as absent as none)."""
    try:
        return lookup()
    except NotFound as error:
        raise Http404(error.message) from error


def _form_page(
    request,
    *,
    fields: tuple[str, ...],
    checkbox: str,
    save,
    saved: tuple[str, str],
    stored: dict,
    template: str,
    context,
):
    """The shape both plan pages share: a POSTed form goes through its service (the API's
    validator); once saved, a message and a redirect to the page; refused, the page again with
    the errors by field and what was posted (400); a GET shows the stored values. ``context``
    builds the rest of the page, only when it is shown."""
    values = stored
    errors: dict = {}
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in fields}
        data[checkbox] = request.POST.get(checkbox) == "on"
        try:
            save(data)
        except InvalidInput as error:
            errors = error.errors
        else:
            message, url = saved
            messages.success(request, message)
            return redirect(url)
        values = stored | {name: request.POST.get(name, "") for name in fields}
    page = context() | {"errors": errors, "values": values}
    return render(request, template, page, status=400 if errors else 200)


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
    charger = _owned(lambda: selectors.charger_for_goal(user=request.user, charger_id=pk))
    goal = selectors.goal_of(charger=charger)
    plan = selectors.plan_latest(goal=goal) if goal else None
    chart = None
    if plan:
        chart = _chart(plan, power_label="Planned power (kW)", prices=[("Price", plan.prices)])
    return _form_page(
        request,
        fields=GOAL_FORM_FIELDS,
        checkbox="charge_now",
        save=lambda data: services.goal_set(charger=charger, **data),
        saved=(
            "Your charging goal is saved and planned.",
            reverse("flex:charger-plan", kwargs={"pk": pk}),
        ),
        stored=_goal_form_values(goal),
        template="flex/charger_plan.html",
        context=lambda: {
            "charger": charger,
            "goal": goal,
            "plan": plan,
            "slots": selectors.plan_slots(plan=plan) if plan else [],
            "sessions": services.session_outcomes(goal=goal) if goal else [],
            "chart": chart,
        },
    )


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
    battery = _owned(lambda: selectors.battery_for_schedule(user=request.user, key=key))
    schedule = selectors.schedule_of(battery=battery)
    plan = selectors.battery_plan_latest(schedule=schedule) if schedule else None
    chart = None
    if plan:
        prices = [("Import price", plan.prices)]
        if any(p is not None for p in plan.export_prices):
            prices.append(("Export price", plan.export_prices))
        chart = _chart(plan, power_label="Power (kW): + discharging, - charging", prices=prices)
    return _form_page(
        request,
        fields=SCHEDULE_FORM_FIELDS,
        checkbox="enabled",
        save=lambda data: services.schedule_set(battery=battery, **data),
        saved=(
            "Your battery schedule is saved and planned.",
            reverse("flex:battery-plan", kwargs={"key": battery.identifier}),
        ),
        stored=_schedule_form_values(schedule),
        template="flex/battery_plan.html",
        context=lambda: {
            "battery": battery,
            "schedule": schedule,
            "reserve": services.schedule_reserve(schedule=schedule) if schedule else None,
            "plan": plan,
            "saving": -plan.cost_pence if plan else None,
            "slots": selectors.battery_plan_slots(plan=plan) if plan else [],
            "chart": chart,
        },
    )
