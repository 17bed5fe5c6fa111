"""Portal pages: "My meters" and a meter's page with its consumption periods."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from django.shortcuts import render

from config.exceptions import NotFound

from . import selectors

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


@login_required
def meter_detail(request: HttpRequest, meter_id: str):
    try:
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    periods = []
    for period, label in PERIOD_LABELS.items():
        try:
            result = selectors.consumption_for_period(meter=meter, period=period)
        except NotFound:
            result = None
        periods.append({"label": label, "result": result})
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
