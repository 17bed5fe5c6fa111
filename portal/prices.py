"""The dashboard's price chart: today's and tomorrow's half-hourly prices of the meter's account
(VAT included) next to the energy used in each half-hour and what it cost, from the billing
app's public prices (``billing.selectors.half_hour_prices``, the one pricing of a half-hour
bills and the planner use) and the meters app's half-hourly consumption. Without billing there
are no prices; a half-hour the price feed has not set yet is None, never zero."""

from datetime import date, timedelta
from decimal import Decimal

from django.apps import apps
from django.utils import timezone

from meters import selectors as meter_selectors
from meters.models import Meter
from meters.timeutils import day_bounds

PENCE = Decimal(100)
COST_PLACES = Decimal("0.0001")


def _prices(meter: Meter, start, end) -> list:
    if not apps.is_installed("billing"):
        return []
    from billing import selectors as billing_selectors

    return billing_selectors.half_hour_prices(account=meter.account, start=start, end=end)


def _as_float(value) -> float | None:
    return None if value is None else float(value)


def price_chart(*, meter: Meter, today: date | None = None) -> dict:
    """Today's and tomorrow's half-hours (the meter's local days, 46-50 each), columnar for
    uPlot: ``t`` (Unix seconds of each start), ``price`` (per kWh with VAT, pence), ``kwh``,
    ``cost`` (kWh x price with VAT, pounds as decimal text to 0.01p); None where unknown. Each
    day's totals count only the half-hours that have both energy and a price."""
    today = today or timezone.localdate(timezone=meter.tz)
    days = []
    for label, day in (("today", today), ("tomorrow", today + timedelta(days=1))):
        start, end = day_bounds(day, meter.tz)
        used = {
            row["interval_start"]: row["consumption"]
            for row in meter_selectors.interval_series(
                meter=meter, period_from=start, period_to=end, group_by="half_hour"
            )
        }
        days.append(_day(label, day, _prices(meter, start, end), used))
    return {"meter_id": meter.meter_id, "days": days}


def _day(label: str, day: date, prices: list, used: dict) -> dict:
    t, price, kwh, cost = [], [], [], []
    total_kwh = total_cost = Decimal(0)
    for half_hour in prices:
        energy = used.get(half_hour.valid_from)
        value = half_hour.value_inc_vat
        spent = None if energy is None or value is None else (energy * value).quantize(COST_PLACES)
        if spent is not None:
            total_kwh += energy
            total_cost += spent
        t.append(half_hour.valid_from.timestamp())
        price.append(_as_float(None if value is None else value * PENCE))
        kwh.append(_as_float(energy))
        cost.append(None if spent is None else str(spent))
    return {
        "label": label,
        "day": day.isoformat(),
        "t": t,
        "price_pence_inc_vat": price,
        "kwh": kwh,
        "cost": cost,
        "half_hours": len(t),
        "priced": sum(value is not None for value in price),
        "total_kwh": float(total_kwh),
        "total_cost": str(total_cost.quantize(Decimal("0.01"))),
    }
