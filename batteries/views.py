"""Portal pages: "My batteries" and each battery's page, and the home page's battery panel."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from config.exceptions import NotFound

from . import selectors

HISTORY_HOURS = 24
HISTORY_BUCKET_SECONDS = 3600


def _may_see_batteries(user) -> bool:
    return user.is_authenticated and (user.is_customer or user.is_staff)


@login_required
def battery_list(request):
    if not _may_see_batteries(request.user):
        raise PermissionDenied("Batteries are shown to customers and staff.")
    batteries = selectors.battery_list(user=request.user)[:200]
    return render(request, "batteries/list.html", {"batteries": batteries})


@login_required
def battery_detail(request, key: str):
    if not _may_see_batteries(request.user):
        raise PermissionDenied("Batteries are shown to customers and staff.")
    try:
        battery = selectors.battery_get(user=request.user, key=key)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    now = timezone.now()
    history = selectors.reading_history(
        battery=battery,
        start=now - timedelta(hours=HISTORY_HOURS),
        end=now,
        bucket_seconds=HISTORY_BUCKET_SECONDS,
    )
    context = {
        "battery": battery,
        "history": history.points,
        "history_hours": HISTORY_HOURS,
        "history_api": reverse("battery-history", args=[battery.pk]),
        "alerts": selectors.battery_alerts(battery=battery)[:20],
        "rules": selectors.rules_for_battery(battery=battery),
        "instructions": selectors.battery_instructions(battery=battery)[:10],
    }
    return render(request, "batteries/detail.html", context)


def home_panel_context(request) -> dict | None:
    """The customer's batteries at a glance on the home page (nothing for other roles or a
    customer without a battery)."""
    user = request.user
    if not user.is_authenticated or not user.is_customer:
        return None
    batteries = list(selectors.battery_list(user=user)[:10])
    if not batteries:
        return None
    return {"batteries": batteries}
