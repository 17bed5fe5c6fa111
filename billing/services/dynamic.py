"""Lines of days priced half-hourly (a dynamic tariff's import, and its export when that is
dynamic too): each half-hour's kWh at the price feed's rate for it, one line per local day a
customer can check (the day's kWh, its half-hours, the average rate and the amount). A day with
energy in a half-hour the feed has no rate for is not priced at all, never at zero: the bill is
flagged for review and waits (it stays a draft) until the rates arrive and the run regenerates
it. Export is credited outside VAT, as a flat export rate is (composition._credit_export)."""

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


def add_dynamic_lines(
    draft: BillDraft,
    *,
    tariffs: ChunkTariffs,
    tariff_pk_on: dict[date, int],
    half_hours: HalfHours,
    direction: str = RateDirection.IMPORT,
) -> None:
    """One line per day priced half-hourly in ``direction``, in day order: energy for import,
    an export credit (negative) for export."""
    by_day: dict[date, dict[datetime, Decimal]] = defaultdict(dict)
    for (day, slot), kwh in half_hours.items():
        by_day[day][slot] = by_day[day].get(slot, ZERO) + kwh
    feed = tariffs.feed_rates(direction)
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
                f"{tariff.name}: no {direction} rate yet for {len(missing)} half-hour(s) with "
                f"energy on {day:%d %b} (from {first:%H:%M}); that day is not priced until the "
                "price feed has them."
            )
            continue
        kwh = sum(used.values(), ZERO)
        if not kwh:
            continue
        value = sum((part * feed[(tariff_pk, slot)] for slot, part in used.items()), ZERO)
        draft.lines.append(_day_line(tariff, day, kwh, value, len(used), direction))


def _day_line(tariff, day: date, kwh: Decimal, value: Decimal, count: int, direction: str):
    quantity = kwh.quantize(KWH)
    average = (value / kwh).quantize(PRICE)
    what, kind, sign = "energy", LineKind.ENERGY, 1
    if direction == RateDirection.EXPORT:
        what, kind, sign = "export credit", LineKind.EXPORT, -1
    line = LineDraft(
        kind=kind,
        description=(
            f"{tariff.name} {what}, {day:%a %d %b}: {_fmt(quantity)} kWh over {count} "
            f"half-hours at their own rates (average {_fmt(average)}/kWh)"
            + (" (no VAT)" if kind == LineKind.EXPORT else "")
        ),
        quantity=quantity,
        unit="kWh",
        unit_price=average,
        tariff=tariff,
        band=DYNAMIC_BAND,
    )
    line.amount = sign * money(value)  # the half-hours summed, rounded once for the day
    return line
