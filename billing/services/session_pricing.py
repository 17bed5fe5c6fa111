"""Charging sessions on the bill.

A session is billed in the month it stopped (local time), by the tariff the account is on the
local day it stopped:

- **a dynamic (half-hourly) import tariff**: the session's energy, spread over the half-hours it
  ran in by its energy register (the meter start, every register sample, the meter stop; linear
  between them, as flex's outcomes spread it), each half-hour's kWh at that tariff's feed rate
  for that half-hour, summed and rounded once to the penny: one line, "18.4 kWh over 7
  half-hours at their own rates (average 0.12571/kWh)". The tariff's ``charging_rate_per_kwh``
  is not used for its energy (the half-hours are the price); its session and idle fees are.
  A half-hour with energy and no rate is never priced at zero: the session is not charged, the
  bill is flagged for review naming the session and the half-hour, and the run that finds the
  rate prices it. A session an app smart-charged (flex, through billing.registry) also says
  what it saved against charging on plug-in, the figure that app shows the customer;
- **any other tariff**: its ``charging_rate_per_kwh`` per kWh, as before (no charging price:
  flagged, not charged).

Both also charge the tariff's session fee and idle minutes.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from django.utils import timezone

from meters.timeutils import HALF_HOUR

from .. import registry
from ..charging_sessions import Session, session_register_wh, session_transactions
from ..models import HalfHourRate, LineKind, RateDirection, Tariff
from .drafts import BillDraft, ChunkTariffs, LineDraft
from .dynamic import DYNAMIC_BAND, PRICE
from .money import KWH, ZERO, money

DESCRIPTION_MAX = 200
PENCE = Decimal(100)
WH_PER_KWH = Decimal(1000)
MICROSECOND = timedelta(microseconds=1)


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def add_session_lines(draft: BillDraft, *, sessions: list[Session], tariffs: ChunkTariffs) -> None:
    """The lines of the account's sessions of the month, in the order they stopped."""
    on_tariff = [(session, _tariff_of(draft, session, tariffs)) for session in sessions]
    dynamic = [s.transaction_id for s, tariff in on_tariff if tariff and tariff.import_dynamic]
    transactions = session_transactions(transaction_ids=dynamic)
    savings = registry.session_savings(transactions=list(transactions.values()))
    for session, tariff in on_tariff:
        label = f"Charging session #{session.transaction_id} on {session.charger}, " + (
            f"{timezone.localtime(session.stopped_at):%d %b}"
        )
        if tariff is not None and tariff.import_dynamic:
            transaction = transactions.get(session.transaction_id)
            if transaction is None:
                draft.flag(f"{label}: its meter values cannot be read; not charged.")
                continue
            priced = _price_half_hourly(
                draft,
                label=label,
                tariff=tariff,
                tariffs=tariffs,
                transaction=transaction,
                saving=savings.get(session.transaction_id),
            )
        elif tariff is None or tariff.charging_rate_per_kwh is None:
            draft.flag(f"{label}: no charging price on the tariff that day; not charged.")
            continue
        else:
            priced = _price_flat(draft, label=label, session=session, tariff=tariff)
        if priced:
            _add_fees(draft, label=label, session=session, tariff=tariff)


def _tariff_of(draft: BillDraft, session: Session, tariffs: ChunkTariffs) -> Tariff | None:
    return tariffs.tariff_on(draft.account_id, timezone.localtime(session.stopped_at).date())


def _price_flat(draft: BillDraft, *, label: str, session: Session, tariff: Tariff) -> bool:
    draft.lines.append(
        LineDraft(
            kind=LineKind.CHARGING,
            description=f"{label}: {_fmt(session.energy_kwh)} kWh",
            quantity=session.energy_kwh,
            unit="kWh",
            unit_price=tariff.charging_rate_per_kwh,
            tariff=tariff,
            charging_transaction_id=session.transaction_id,
        )
    )
    return True


def _add_fees(draft: BillDraft, *, label: str, session: Session, tariff: Tariff) -> None:
    if tariff.charging_fee_per_session:
        draft.lines.append(
            LineDraft(
                kind=LineKind.CHARGING,
                description=f"{label}: session fee",
                quantity=Decimal(1),
                unit="session",
                unit_price=tariff.charging_fee_per_session,
                tariff=tariff,
                charging_transaction_id=session.transaction_id,
            )
        )
    if tariff.charging_idle_fee_per_minute and session.idle_minutes:
        draft.lines.append(
            LineDraft(
                kind=LineKind.CHARGING,
                description=f"{label}: idle {session.idle_minutes} min",
                quantity=Decimal(session.idle_minutes),
                unit="minute",
                unit_price=tariff.charging_idle_fee_per_minute,
                tariff=tariff,
                charging_transaction_id=session.transaction_id,
            )
        )


def _price_half_hourly(
    draft: BillDraft,
    *,
    label: str,
    tariff: Tariff,
    tariffs: ChunkTariffs,
    transaction,
    saving: registry.SessionSaving | None,
) -> bool:
    """The session's energy line at its half-hours' rates; False (and the bill flagged) when a
    half-hour with energy has no rate."""
    used = {
        slot: kwh
        for slot, kwh in sorted(
            energy_per_half_hour(session_register_wh(transaction=transaction)).items()
        )
        if kwh
    }
    rates = _rates(tariff=tariff, tariffs=tariffs, slots=list(used))
    missing = [slot for slot in used if slot not in rates]
    if missing:
        first = timezone.localtime(missing[0])
        draft.flag(
            f"{label}: no import rate yet for {len(missing)} half-hour(s) of the session "
            f"(from {first:%d %b %H:%M}); not charged until the price feed has them."
        )
        return False
    if not used:
        return True  # nothing delivered: no energy to price, the fees still apply
    kwh = sum(used.values(), ZERO)
    quantity = kwh.quantize(KWH)
    value = sum((part * rates[slot] for slot, part in used.items()), ZERO)
    average = (value / kwh).quantize(PRICE)
    line = LineDraft(
        kind=LineKind.CHARGING,
        description=_fitted(
            label,
            f": {_fmt(quantity)} kWh over {len(used)} {_half_hours(len(used))} at their own rates "
            f"(average {_fmt(average)}/kWh)" + _saving_text(saving, tariff.currency),
            transaction.charger.charge_point_id,
        ),
        quantity=quantity,
        unit="kWh",
        unit_price=average,
        tariff=tariff,
        band=DYNAMIC_BAND,
        charging_transaction_id=transaction.pk,
    )
    line.amount = money(value)  # the half-hours summed, rounded once for the session
    draft.lines.append(line)
    return True


def _half_hours(count: int) -> str:
    return "half-hour" if count == 1 else "half-hours"


def _saving_text(saving: registry.SessionSaving | None, currency: str) -> str:
    """What smart charging saved, in the words and figure the customer's flex page uses (pence
    with VAT there, pounds here). Left out when a half-hour of the comparison had no price: a
    saving that leaves energy out is not the saving."""
    if saving is None or saving.unpriced_wh:
        return ""
    pounds = money(saving.saved_pence / PENCE)
    symbol = "£" if currency == "GBP" else f"{currency} "
    if pounds > 0:
        return f"; smart charging saved {symbol}{pounds:,} inc VAT against charging on plug-in"
    if pounds < 0:
        return f"; smart charging cost {symbol}{-pounds:,} inc VAT more than charging on plug-in"
    return "; smart charging cost the same as charging on plug-in"


def _fitted(label: str, rest: str, charger: str) -> str:
    """``label + rest`` within a line's description, shortening the charger's id in the label
    rather than losing the figures at the end."""
    excess = len(label) + len(rest) - DESCRIPTION_MAX
    if excess > 0:
        short = charger[: max(len(charger) - excess - 1, 1)] + "…"
        label = label.replace(f" on {charger}, ", f" on {short}, ", 1)
    return label + rest


def _rates(*, tariff: Tariff, tariffs: ChunkTariffs, slots: list[datetime]) -> dict:
    """{UTC half-hour: rate} of ``slots`` on ``tariff``'s import feed: the chunk's month of
    rates, and the store for a session that started before it."""
    feed = tariffs.feed_rates(RateDirection.IMPORT)
    rates = {slot: feed[(tariff.pk, slot)] for slot in slots if (tariff.pk, slot) in feed}
    earlier = [slot for slot in slots if slot not in rates]
    if earlier:
        rates.update(
            HalfHourRate.objects.filter(
                tariff=tariff, direction=RateDirection.IMPORT, valid_from__in=earlier
            ).values_list("valid_from", "value_exc_vat")
        )
    return rates


def _slot_of(at: datetime) -> datetime:
    """The UTC start of the half-hour ``at`` is in (every zone we serve is offset by whole
    half-hours)."""
    at = at.astimezone(UTC)
    return at.replace(minute=0 if at.minute < 30 else 30, second=0, microsecond=0)


def energy_per_half_hour(points: list[tuple[datetime, Decimal]]) -> dict[datetime, Decimal]:
    """kWh per UTC half-hour from a register's (time, Wh) points, linear between them."""
    kwh: dict[datetime, Decimal] = defaultdict(lambda: ZERO)
    for (t0, wh0), (t1, wh1) in pairwise(points):
        if wh1 <= wh0:
            continue
        if t1 <= t0:
            kwh[_slot_of(t0)] += (wh1 - wh0) / WH_PER_KWH
            continue
        span = Decimal((t1 - t0) // MICROSECOND)
        cursor = t0
        while cursor < t1:
            slot = _slot_of(cursor)
            end = min(slot + HALF_HOUR, t1)
            kwh[slot] += (wh1 - wh0) * Decimal((end - cursor) // MICROSECOND) / span / WH_PER_KWH
            cursor = end
    return dict(kwh)
