"""What the dashboards show, composed from the meters app's selectors (and the other apps' where
they are installed). Chart payloads are columnar (one list per series, times in Unix seconds) so
the browser hands them to uPlot as they are."""

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from config.exceptions import NotFound
from meters import selectors as meter_selectors
from meters.models import Meter

from . import extras

SUMMARY_PERIODS = (
    ("today", "Today"),
    ("this_week", "This week"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
)
CHART_MAX_POINTS = 2000
# A point that stands for a longer stretch than this shows the average power over it, not the
# power measured at one instant.
SAMPLED_POWER_MAX_STEP = timedelta(minutes=1)
MAX_CHART_RANGE = timedelta(days=400)
_WATT_SECONDS_PER_KWH = 3_600_000


def as_float(value) -> float | None:
    return None if value is None else float(value)


def chart_series(
    *,
    meter: Meter,
    start: datetime | None = None,
    end: datetime | None = None,
    after: datetime | None = None,
    max_points: int = CHART_MAX_POINTS,
) -> dict:
    """Power (W) and cumulative energy (kWh from the first reading of the range) for a chart,
    at most ``max_points`` points. A range is downsampled by time (meters' ``readings_raw``): the
    points are real readings, so energy between them stays exact, and where a point stands for
    more than a minute its power is the average since the point before, worked out from the
    register (a reading without a measured power gets that too). ``after`` (polling) gives every
    reading after that time. Energy counts nothing across a register reset."""
    averaged = False
    if after is None and start is not None:
        end = end or timezone.now()
        averaged = (end - start) / max(1, max_points - 1) > SAMPLED_POWER_MAX_STEP
    points = list(
        meter_selectors.readings_raw(
            meter=meter, start=start, end=end, after=after, max_points=max_points
        )
    )
    times, power, energy = [], [], []
    base = points[0].import_kwh if points else None
    total = Decimal(0)
    previous = None
    for point in points:
        watts = None if averaged else point.power_w
        if previous is not None:
            delta = point.import_kwh - previous.import_kwh
            if point.register_reset or delta < 0:
                delta = Decimal(0)
            total += delta
            seconds = (point.at - previous.at).total_seconds()
            if watts is None and seconds > 0 and not point.register_reset:
                watts = round(float(delta) * _WATT_SECONDS_PER_KWH / seconds, 1)
        times.append(point.at.timestamp())
        power.append(watts)
        energy.append(float(total))
        previous = point
    return {
        "meter_id": meter.meter_id,
        "t": times,
        "power_w": power,
        "energy_kwh": energy,
        "base_import_kwh": as_float(base),
        "points": len(times),
    }


def selection_stats(*, meter: Meter, start: datetime, end: datetime) -> dict:
    """Energy, min/max/avg power and the number of readings in [start, end], with the cost at
    the current tariff when billing can price it."""
    stats = meter_selectors.reading_stats(meter=meter, start=start, end=end)
    energy = stats["energy_kwh"]
    return {
        "start": stats["start"].isoformat(),
        "end": stats["end"].isoformat(),
        "readings": stats["readings"],
        "energy_kwh": as_float(energy),
        "min_power_w": stats["min_power_w"],
        "max_power_w": stats["max_power_w"],
        "avg_power_w": None if stats["avg_power_w"] is None else round(stats["avg_power_w"], 1),
        "cost": extras.pricer(account=meter.account)(energy),
    }


def period_summary(*, meter: Meter, now: datetime | None = None) -> list[dict]:
    """The summary cards: energy (and cost) today, this week, this month, last month and in
    total. A period with fewer than two readings has no energy (None)."""
    now = now or timezone.now()
    price = extras.pricer(account=meter.account)
    cards = []
    for period, label in SUMMARY_PERIODS:
        try:
            result = meter_selectors.consumption_for_period(meter=meter, period=period, now=now)
        except NotFound:
            kwh, complete = None, False
        else:
            kwh, complete = result["consumption_kwh"], result["is_complete"]
        cards.append(_card(period, label, kwh, complete, price))
    first = meter_selectors.meter_first_reading_at(meter=meter)
    kwh = None
    if first is not None:
        try:
            kwh = meter_selectors.consumption_for_period(
                meter=meter, start=first, end=now, now=now
            )["consumption_kwh"]
        except NotFound:
            kwh = None
    cards.append(_card("total", "Total", kwh, False, price))
    return cards


def _card(
    period: str, label: str, kwh: Decimal | None, complete: bool, price: extras.Pricer
) -> dict:
    return {
        "period": period,
        "label": label,
        "energy_kwh": as_float(kwh),
        "is_complete": complete,
        "cost": price(kwh),
    }


def daily_usage(*, meter: Meter, days: int, today: date | None = None) -> dict:
    """Energy per local day for the last ``days`` days with each day's 30-day moving average and
    its difference from the average complete day over the last year ("typical"), from the meters
    app's energy summary."""
    summary = meter_selectors.energy_summary(meter=meter, days=days, today=today)
    typical = summary["average_daily_kwh_last_year"]
    price = extras.pricer(account=meter.account)
    rows = []
    for row in summary["days"]:
        kwh = row["import_kwh"]
        difference = None
        if typical and not row["is_partial"]:
            difference = round(float((kwh - typical) / typical * 100), 1)
        rows.append(
            {
                "day": row["day"].isoformat(),
                "t": _local_noon(row["day"], meter),
                "energy_kwh": float(kwh),
                "is_partial": row["is_partial"],
                "moving_average_kwh": as_float(row["moving_average_30d_kwh"]),
                "difference_percent": difference,
                "cost": price(kwh),
            }
        )
    return {
        "meter_id": meter.meter_id,
        "days": rows,
        "typical_daily_kwh": as_float(typical),
        "moving_average_30d_kwh": as_float(summary["moving_average_30d_kwh"]),
    }


def _local_noon(day: date, meter: Meter) -> float:
    """A day's bar is drawn at its local noon, so it sits in the middle of the day."""
    midnight = meter_selectors.meter_local_midnight(meter=meter, day=day)
    return (midnight + timedelta(hours=12)).timestamp()


def meters_for_dashboard(*, user: User):
    return meter_selectors.meters_for_user(user=user).order_by("meter_id")


# --- Analysts: aggregates only, never a meter, an account or an address ----------------------


def analyst_report(
    *, start: date, end: date, group_by: str, resolution: str, bins: int = 10
) -> dict:
    """Everything the analyst page shows for local days [start, end): the meters aggregates per
    group and period, totals per group, the top areas by average use per meter, and the
    distribution of per-meter consumption. Suppression is the meters selector's
    (``consumption_aggregates``), so totals are over shown groups only; the distribution is only
    given over at least ANALYTICS_MIN_GROUP_SIZE meters."""
    rows = meter_selectors.consumption_aggregates(
        start=start, end=end, group_by=group_by, resolution=resolution
    )
    totals: dict[str, dict] = {}
    for row in rows:
        group = totals.setdefault(row["group"], {"group": row["group"], "total_kwh": Decimal(0)})
        group["total_kwh"] += row["total_kwh"]
        group["meters"] = max(group.get("meters", 0), row["meters"])
    for group in totals.values():
        group["average_kwh_per_meter"] = (group["total_kwh"] / group["meters"]).quantize(
            Decimal("0.01")
        )
    top_areas = meter_selectors.consumption_aggregates(
        start=start, end=end, group_by="area", resolution="month"
    )
    by_area: dict[str, dict] = {}
    for row in top_areas:
        area = by_area.setdefault(row["group"], {"area": row["group"], "total_kwh": Decimal(0)})
        area["total_kwh"] += row["total_kwh"]
        area["meters"] = max(area.get("meters", 0), row["meters"])
    for area in by_area.values():
        area["average_kwh_per_meter"] = (area["total_kwh"] / area["meters"]).quantize(
            Decimal("0.01")
        )
    return {
        "rows": rows,
        "totals": sorted(totals.values(), key=lambda g: g["total_kwh"], reverse=True),
        "top_areas": sorted(
            by_area.values(), key=lambda a: a["average_kwh_per_meter"], reverse=True
        )[:10],
        "distribution": consumption_distribution(start=start, end=end, bins=bins),
    }


def consumption_distribution(*, start: date, end: date, bins: int = 10) -> dict:
    """A histogram of each meter's total consumption over local days [start, end): bin edges
    and counts of meters. Edges are round numbers (1, 2 or 5 times a power of ten), never a meter's
    own total, and neighbouring bins are merged until each holds at least
    ANALYTICS_MIN_GROUP_SIZE meters, so no household's consumption can be read off the chart.
    Empty below that many meters."""
    minimum = settings.ANALYTICS_MIN_GROUP_SIZE
    totals = meter_selectors.meter_totals_kwh(start=start, end=end)
    if len(totals) < minimum:
        return {"edges": [], "counts": [], "meters": 0}
    width = _round_width((totals[-1] - totals[0]) / bins)
    first = math.floor(totals[0] / width) * width
    count = max(1, math.floor((totals[-1] - first) / width) + 1)
    counts = [0] * count
    for total in totals:
        counts[min(int((total - first) / width), count - 1)] += 1
    edges, merged = [first], []
    for index, meters in enumerate(counts):
        if merged and merged[-1] < minimum:
            merged[-1] += meters
            edges[-1] = first + width * (index + 1)
        else:
            merged.append(meters)
            edges.append(first + width * (index + 1))
    if len(merged) > 1 and merged[-1] < minimum:
        merged[-2] += merged.pop()
        edges.pop(-2)
    return {"edges": [round(edge, 3) for edge in edges], "counts": merged, "meters": len(totals)}


def _round_width(raw: float) -> float:
    """The smallest of 1, 2 or 5 times 10^n that is at least ``raw``."""
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= raw)
