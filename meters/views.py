"""Portal pages: "My meters" and a meter's page with its consumption periods."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.utils import timezone

from config.exceptions import NotFound

from . import selectors
from .models import MeterKind

LIVE_TRAILING = timedelta(minutes=30)

PERIOD_LABELS = {
    "last_30min": "Last half-hour",
    "today": "Today",
    "this_week": "This week",
    "this_month": "This month",
    "last_month": "Last month",
}


@login_required
def meter_list(request: HttpRequest):
    meters = selectors.meters_for_user(user=request.user)
    page = Paginator(meters, 50).get_page(request.GET.get("page"))
    return render(request, "meters/meter_list.html", {"page": page})


def _consumption(meter, period: str) -> dict | None:
    """A period's consumption, None with fewer than two readings in it. For a live meter "Last
    half-hour" is the trailing 30 minutes, so a display that started reporting six minutes ago
    already shows what it used (the last whole half-hour slot may hold none of its readings)."""
    now = timezone.now()
    try:
        if period == "last_30min" and meter.kind == MeterKind.LIVE:
            return selectors.consumption_for_period(
                meter=meter, start=now - LIVE_TRAILING, end=now, now=now
            )
        return selectors.consumption_for_period(meter=meter, period=period, now=now)
    except NotFound:
        return None


@login_required
def meter_detail(request: HttpRequest, meter_id: str):
    try:
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    periods = [
        {"label": label, "result": _consumption(meter, period)}
        for period, label in PERIOD_LABELS.items()
    ]
    latest = meter.readings.order_by("-at").first()
    return render(
        request,
        "meters/meter_detail.html",
        {"meter": meter, "periods": periods, "latest": latest},
    )


def home_panel(request: HttpRequest) -> dict | None:
    """The customer's meters on the portal home page (None: no panel for others or no meters)."""
    if not request.user.is_authenticated or not request.user.is_customer:
        return None
    meters = list(selectors.meters_for_user(user=request.user)[:20])
    return {"meters": meters} if meters else None
