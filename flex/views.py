"""Portal pages: a charger's goal form and its plan (planned power against the price curve,
projected cost against charging now). The form goes through the same validator as the API."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from config.exceptions import InvalidInput, NotFound

from . import selectors, services
from .models import ChargingGoal

FORM_FIELDS = ("ready_by", "energy_wh", "max_power_w", "price_cap")


def _chart(plan) -> str:
    slots = selectors.plan_slots(plan=plan)
    return json.dumps(
        {
            "t": [int(s["valid_from"].timestamp()) for s in slots],
            "power_kw": [s["power_w"] / 1000 for s in slots],
            "price": [None if s["price"] is None else float(s["price"]) for s in slots],
        }
    )


def _form_values(goal: ChargingGoal | None) -> dict:
    if goal is None:
        return {"ready_by": "07:00", "energy_wh": "", "max_power_w": 7400, "price_cap": ""}
    return {
        "ready_by": goal.ready_by.strftime("%H:%M"),
        "energy_wh": goal.energy_wh or "",
        "max_power_w": goal.max_power_w,
        "price_cap": "" if goal.price_cap is None else goal.price_cap,
    }


@login_required
def charger_plan(request, pk: int):
    try:
        charger = selectors.charger_for_goal(user=request.user, charger_id=pk)
    except NotFound as error:
        raise Http404(error.message) from error
    errors: dict = {}
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in FORM_FIELDS}
        data["charge_now"] = request.POST.get("charge_now") == "on"
        try:
            services.goal_set(charger=charger, **data)
            messages.success(request, "Your charging goal is saved and planned.")
            return redirect("flex:charger-plan", pk=pk)
        except InvalidInput as error:
            errors = error.errors
    goal = ChargingGoal.objects.filter(charger=charger).first()
    plan = selectors.plan_latest(goal=goal) if goal else None
    values = _form_values(goal)
    if request.method == "POST":
        values |= {name: request.POST.get(name, "") for name in FORM_FIELDS}
    context = {
        "charger": charger,
        "goal": goal,
        "plan": plan,
        "errors": errors,
        "values": values,
        "chart": _chart(plan) if plan else None,
    }
    return render(request, "flex/charger_plan.html", context, status=400 if errors else 200)
