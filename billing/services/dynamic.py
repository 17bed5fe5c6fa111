"""Energy lines of days priced half-hourly (a dynamic tariff's import): each half-hour's kWh at
the price feed's rate for it, one line per local day a customer can check (the day's kWh, its
half-hours, the average rate and the cost). A day with consumption in a half-hour the feed has
no rate for is not priced at all, never at zero: the bill is flagged for review and waits (it
stays a draft) until the rates arrive and the run regenerates it."""

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from ..models import PRICE_PLACES, LineKind, RateDirection
from .drafts import BillDraft, ChunkTariffs, LineDraft
from .money import KWH, ZERO, money

HalfHours = dict[tuple[date, datetime], Decimal]
PRICE = Decimal(1).scaleb(-PRICE_PLACES)
DYNAMIC_BAND = "Half-hourly"


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def add_dynamic_energy_lines(
    draft: BillDraft, *, tariffs: ChunkTariffs, tariff_pk_on: dict[date, int], half_hours: HalfHours
) -> None:
    """One energy line per day of a tariff that prices import half-hourly, in day order."""
    by_day: dict[date, dict[datetime, Decimal]] = defaultdict(dict)
    for (day, slot), kwh in half_hours.items():
        by_day[day][slot] = by_day[day].get(slot, ZERO) + kwh
    feed = tariffs.feed_rates(RateDirection.IMPORT)
    for day in sorted(by_day):
        tariff_pk = tariff_pk_on.get(day)
        if tariff_pk is None:
            continue  # no tariff that day: flagged by the composition already
        tariff = tariffs.tariffs[tariff_pk]
        used = {slot: kwh for slot, kwh in sorted(by_day[day].items()) if kwh}
        missing = [slot for slot in used if (tariff_pk, slot) not in feed]
        if missing:
            first = timezone.localtime(missing[0])
            draft.flag(
                f"{tariff.name}: no unit rate yet for {len(missing)} half-hour(s) with "
                f"consumption on {day:%d %b} (from {first:%H:%M}); that day is not priced "
                "until the price feed has them."
            )
            continue
        kwh = sum(used.values(), ZERO)
        if not kwh:
            continue
        cost = sum((value * feed[(tariff_pk, slot)] for slot, value in used.items()), ZERO)
        quantity = kwh.quantize(KWH)
        average = (cost / kwh).quantize(PRICE)
        line = LineDraft(
            kind=LineKind.ENERGY,
            description=(
                f"{tariff.name} energy, {day:%a %d %b}: {_fmt(quantity)} kWh over {len(used)} "
                f"half-hours at their own rates (average {_fmt(average)}/kWh)"
            ),
            quantity=quantity,
            unit="kWh",
            unit_price=average,
            tariff=tariff,
            band=DYNAMIC_BAND,
        )
        line.amount = money(cost)  # the sum of the half-hours, rounded once for the day
        draft.lines.append(line)
