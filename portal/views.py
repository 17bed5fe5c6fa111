"""The dashboards' pages (their scripts' JSON doors are in api.py). Each page parses, calls a
selector, and answers; every meter is looked up through the meters app's user-scoped selectors,
so a customer can only ever see their own accounts' meters (others are 404)."""

import csv
import re
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_POST

from accounts import live
from config.exceptions import NotFound
from meters import selectors as meter_selectors
from meters import services as meter_services
from meters.models import Meter

from . import extras, operations, selectors
from .serializers import DAILY_DEFAULT_DAYS

# A phone, not a tablet: "Mobi" is in every mobile browser's User-Agent (MDN's advice), and iPads
# and Android tablets either leave it out or say what they are.
_PHONE = re.compile(r"Mobi|iPhone|Windows Phone", re.IGNORECASE)
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk|PlayBook", re.IGNORECASE)
MOBILE_DEFAULT_DAYS = 14


def is_phone(request) -> bool:
    agent = request.headers.get("User-Agent", "")
    return bool(_PHONE.search(agent)) and not _TABLET.search(agent)


def _meter(request, meter_id: str) -> Meter:
    try:
        return meter_selectors.meter_for_user(user=request.user, meter_id=meter_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


# --- Customer dashboard -------------------------------------------------------------------------


@login_required
@require_GET
def dashboard_home(request):
    """The account's default dashboard: its first meter's, with a picker when there are more."""
    meters = list(selectors.meters_for_dashboard(user=request.user)[:200])
    if is_phone(request) and request.GET.get("full") != "1":
        return redirect("dashboard:mobile")
    if not meters:
        return render(request, "dashboard/no_meters.html", status=200)
    return _render_dashboard(request, meters[0], meters)


@login_required
@require_GET
def dashboard_meter(request, meter_id: str):
    meter = _meter(request, meter_id)
    if is_phone(request) and request.GET.get("full") != "1":
        return redirect("dashboard:mobile-meter", meter_id=meter.meter_id)
    meters = list(selectors.meters_for_dashboard(user=request.user)[:200])
    return _render_dashboard(request, meter, meters)


def _render_dashboard(request, meter: Meter, meters: list[Meter]):
    config = {
        "meterId": meter.meter_id,
        "urls": {
            "series": reverse("dashboard:series", args=[meter.meter_id]),
            "stats": reverse("dashboard:stats", args=[meter.meter_id]),
            "summary": reverse("dashboard:summary", args=[meter.meter_id]),
            "daily": reverse("dashboard:daily", args=[meter.meter_id]),
            "cards": reverse("dashboard:cards", args=[meter.meter_id]),
            "prices": reverse("dashboard:prices", args=[meter.meter_id]),
            "socket": live.socket_url(request),
        },
        # Readings come from the ingest process: poll as well when its pushes cannot arrive.
        "pollWithSocket": not live.reaches_every_process(),
        "dailyDays": DAILY_DEFAULT_DAYS,
    }
    return render(
        request,
        "dashboard/dashboard.html",
        {"meter": meter, "meters": meters, "config": config},
    )


# --- Mobile --------------------------------------------------------------------------------------


@login_required
@require_GET
def mobile(request, meter_id: str | None = None):
    meters = list(selectors.meters_for_dashboard(user=request.user)[:200])
    if meter_id is not None:
        meter = _meter(request, meter_id)
    elif meters:
        meter = meters[0]
    else:
        return render(request, "dashboard/no_meters.html", {"mobile": True})
    raw_days = request.GET.get("days") or str(MOBILE_DEFAULT_DAYS)
    error = None
    try:
        days = int(raw_days)
        if not 1 <= days <= 365:
            raise ValueError
    except ValueError:
        error = "Lookback must be a whole number of days from 1 to 365."
        days = MOBILE_DEFAULT_DAYS
    daily = selectors.daily_usage(meter=meter, days=days)
    actual = sum(row["energy_kwh"] for row in daily["days"])
    typical = daily["typical_daily_kwh"]
    context = {
        "meter": meter,
        "meters": meters,
        "days": days,
        "raw_days": raw_days,
        "error": error,
        "daily": daily,
        "rows": [
            {**row, "date": date.fromisoformat(row["day"])} for row in reversed(daily["days"])
        ],
        "actual_kwh": actual,
        "typical_kwh": None if typical is None else typical * len(daily["days"]),
        "actual_cost": extras.pricer(account=meter.account)(actual if daily["days"] else None),
        "today": meter_selectors.meter_local_day(meter=meter, at=timezone.now()),
    }
    return render(request, "dashboard/mobile.html", context, status=400 if error else 200)


# --- Analysts -----------------------------------------------------------------------------------


def _analyst_only(request) -> None:
    if not (request.user.is_analyst or request.user.is_staff):
        raise PermissionDenied("Analysts and staff only.")


def _analyst_query(request) -> tuple[dict, list[str]]:
    today = timezone.localdate()
    errors = []
    dates = {"start": today - timedelta(days=90), "end": today}
    for name in ("start", "end"):
        value = request.GET.get(name)
        if not value:
            continue
        try:
            parsed = parse_date(value)
        except ValueError:
            parsed = None
        if parsed is None:
            errors.append(f"{name}: {value!r} is not a date (YYYY-MM-DD).")
        else:
            dates[name] = parsed
    start, end = dates["start"], dates["end"]
    group_by = request.GET.get("group_by") or "region"
    if group_by not in meter_selectors.ANALYTICS_GROUPS:
        errors.append("group_by: must be region, area or dwelling type.")
        group_by = "region"
    resolution = request.GET.get("resolution") or "month"
    if resolution not in ("day", "month"):
        errors.append("resolution: must be day or month.")
        resolution = "month"
    if end <= start:
        errors.append("end: must be after start.")
        start, end = end - timedelta(days=1), end
    if (end - start).days > meter_selectors.ANALYTICS_MAX_DAYS:
        errors.append("end: a report covers at most three years.")
        start = end - timedelta(days=meter_selectors.ANALYTICS_MAX_DAYS)
    return {"start": start, "end": end, "group_by": group_by, "resolution": resolution}, errors


@login_required
@require_GET
def analyst(request):
    _analyst_only(request)
    query, errors = _analyst_query(request)
    report = selectors.analyst_report(**query)
    chart = _analyst_chart(report["rows"])
    context = {
        "query": query,
        "errors": errors,
        "report": report,
        "chart": chart,
        "distribution": report["distribution"],
        "min_group_size": settings.ANALYTICS_MIN_GROUP_SIZE,
        "group_label": dict(_GROUP_LABELS)[query["group_by"]],
        "group_choices": _GROUP_LABELS,
    }
    return render(request, "dashboard/analyst.html", context, status=400 if errors else 200)


_GROUP_LABELS = (("region", "Region"), ("area", "Area"), ("dwelling_type", "Dwelling type"))


def _analyst_chart(rows: list[dict]) -> dict:
    """One line per group of the per-meter average over the periods, columnar for uPlot."""
    periods = sorted({row["period"] for row in rows})
    groups = sorted({row["group"] for row in rows})
    values = {(row["group"], row["period"]): row["average_kwh_per_meter"] for row in rows}
    return {
        "t": [datetime.combine(p, datetime.min.time(), tzinfo=UTC).timestamp() for p in periods],
        "series": [
            {
                "label": group,
                "values": [
                    None if values.get((group, p)) is None else float(values[(group, p)])
                    for p in periods
                ],
            }
            for group in groups
        ],
    }


@login_required
@require_GET
def analyst_csv(request):
    _analyst_only(request)
    query, errors = _analyst_query(request)
    if errors:
        return HttpResponse("\n".join(errors), status=400, content_type="text/plain")
    rows = meter_selectors.consumption_aggregates(**query)
    response = HttpResponse(content_type="text/csv")
    filename = f"consumption-by-{query['group_by']}-{query['start']}-{query['end']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(["period", query["group_by"], "meters", "total_kwh", "average_kwh_per_meter"])
    for row in rows:
        period = row["period"]
        writer.writerow(
            [
                period.isoformat() if isinstance(period, date) else period,
                row["group"],
                row["meters"],
                row["total_kwh"],
                row["average_kwh_per_meter"],
            ]
        )
    return response


# --- Operations ---------------------------------------------------------------------------------


def _staff_only(request) -> None:
    if not request.user.is_staff:
        raise PermissionDenied("Staff only.")


@login_required
@require_GET
def ops(request):
    _staff_only(request)
    return render(request, "dashboard/ops.html", {"ops": operations.overview()})


@login_required
@require_POST
def ops_reception(request):
    """The pause/resume and maintenance switches: the same service as the reception API."""
    _staff_only(request)
    action = request.POST.get("action")
    reason = request.POST.get("reason", "")[:200]
    changes = {
        "pause": {"paused": True},
        "resume": {"paused": False},
        "maintenance-on": {"maintenance": True},
        "maintenance-off": {"maintenance": False},
    }.get(action)
    if changes is None:
        return HttpResponse("Unknown action.", status=400, content_type="text/plain")
    meter_services.reception_set(user=request.user, reason=reason, **changes)
    return redirect("dashboard:ops")
