"""Composing one account's bill for a month in memory, from the usage, charging sessions and
tariffs read for its chunk (see runs.py; sessions in session_pricing.py). Each step adds lines,
reads or review notes to the draft; the order of the steps is the order of the lines on the
bill."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from .. import usage as usage_reads
from ..charging_sessions import Session
from ..models import LineKind, RateDirection, Tariff
from .drafts import BillDraft, ChunkTariffs, LineDraft, ReadDraft
from .dynamic import HalfHours, add_dynamic_lines
from .money import KWH, ZERO, vat_on
from .session_pricing import add_session_lines

# (tariff pk, band pk) -> kWh; the band is None for a flat tariff's readings.
Energy = dict[tuple[int, int | None], Decimal]


def _fmt_kwh(value: Decimal) -> str:
    return f"{value.normalize():f}"


def compose(
    *,
    account_id: int,
    days: list[date],
    tariffs: ChunkTariffs,
    meter_usages: list[usage_reads.MeterUsage],
    sessions: list[Session],
) -> BillDraft:
    draft = BillDraft(account_id=account_id)
    days_by_tariff, tariff_by_pk = _tariff_days(draft, days=days, tariffs=tariffs)
    tariff_pk_on = {day: pk for pk, pk_days in days_by_tariff.items() for day in pk_days}
    energy, exported, half_hours = _meter_energy(
        draft, meter_usages=meter_usages, tariffs=tariffs, tariff_pk_on=tariff_pk_on
    )
    _add_energy_lines(
        draft,
        tariffs=tariffs,
        days_by_tariff=days_by_tariff,
        tariff_by_pk=tariff_by_pk,
        energy=energy,
    )
    add_dynamic_lines(draft, tariffs=tariffs, tariff_pk_on=tariff_pk_on, half_hours=half_hours)
    _add_standing_lines(draft, days_by_tariff=days_by_tariff, tariff_by_pk=tariff_by_pk)
    add_session_lines(draft, sessions=sessions, tariffs=tariffs)
    for tariff_pk, tariff_days in days_by_tariff.items():
        _credit_export(draft, tariff_by_pk[tariff_pk], tariff_days, exported.get(tariff_pk, ZERO))
    add_dynamic_lines(
        draft,
        tariffs=tariffs,
        tariff_pk_on=tariff_pk_on,
        half_hours=_summed(usage.export_half_hours for usage in meter_usages),
        direction=RateDirection.EXPORT,
    )
    _add_vat_lines(draft)
    return draft


def _summed(parts) -> HalfHours:
    total: HalfHours = defaultdict(lambda: ZERO)
    for part in parts:
        for key, kwh in part.items():
            total[key] += kwh
    return total


def _tariff_days(
    draft: BillDraft, *, days: list[date], tariffs: ChunkTariffs
) -> tuple[dict[int, list[date]], dict[int, Tariff]]:
    """Days of each tariff, in the order tariffs took effect; days without one are flagged."""
    day_tariff = tariffs.tariffs_by_day(draft.account_id, days)
    untariffed = [day for day, tariff in day_tariff.items() if tariff is None]
    if len(untariffed) == len(days):
        draft.flag("No tariff is assigned to the account for this month.")
    elif untariffed:
        draft.flag(f"No tariff on {len(untariffed)} day(s) from {untariffed[0]}: not charged.")
    days_by_tariff: dict[int, list[date]] = {}
    tariff_by_pk: dict[int, Tariff] = {}
    for day, tariff in day_tariff.items():
        if tariff is not None:
            days_by_tariff.setdefault(tariff.pk, []).append(day)
            tariff_by_pk[tariff.pk] = tariff
    return days_by_tariff, tariff_by_pk


def _meter_energy(
    draft: BillDraft,
    *,
    meter_usages: list[usage_reads.MeterUsage],
    tariffs: ChunkTariffs,
    tariff_pk_on: dict[date, int],
) -> tuple[Energy, dict[int, Decimal], HalfHours]:
    """Each meter's reads onto the draft; its energy per (tariff, band), export per tariff and
    half-hours of days priced half-hourly, summed over the meters. Energy on a day without a
    tariff is not charged."""
    energy: Energy = defaultdict(lambda: ZERO)
    exported: dict[int, Decimal] = defaultdict(lambda: ZERO)
    half_hours: HalfHours = defaultdict(lambda: ZERO)
    if not meter_usages:
        draft.flag("The account has no meters: standing charge only.")
    for usage in meter_usages:
        _add_read(draft, usage)
        daily = draft.daily
        for (day, band), kwh in usage.energy.items():
            daily[day] = daily.get(day, ZERO) + kwh
            tariff_pk = tariff_pk_on.get(day)
            if tariff_pk is None:
                continue
            if band is None:
                band = tariffs.default_rate[tariff_pk].pk
            energy[(tariff_pk, band)] += kwh
        for (day, slot), kwh in usage.half_hours.items():
            daily[day] = daily.get(day, ZERO) + kwh
            half_hours[(day, slot)] += kwh
        for day, kwh in usage.export.items():
            tariff_pk = tariff_pk_on.get(day)
            if tariff_pk is not None:
                exported[tariff_pk] += kwh
    return energy, exported, half_hours


def _add_read(draft: BillDraft, usage: usage_reads.MeterUsage) -> None:
    """The meter's opening and closing reads, its consumption, and what a reader should know."""
    if not usage.has_readings:
        draft.flag(f"No readings from meter {usage.serial} this month: standing charge only.")
    consumption = usage.consumption_kwh.quantize(KWH)
    draft.consumption_kwh += consumption
    notes = [text for text in (usage.opening.note, usage.closing.note) if text]
    if usage.resets:
        notes.append(f"Register reset {usage.resets} time(s) in the period.")
    draft.notes.extend(f"{usage.serial}: {text}" for text in notes)
    draft.reads.append(
        ReadDraft(
            meter_id=usage.meter_pk,
            meter_serial=usage.serial,
            opening_at=usage.opening.at,
            opening_kwh=usage.opening.kwh,
            opening_quality=usage.opening.quality,
            closing_at=usage.closing.at,
            closing_kwh=usage.closing.kwh,
            closing_quality=usage.closing.quality,
            consumption_kwh=consumption,
            register_resets=usage.resets,
            note=" ".join(notes)[:300],
        )
    )


def _add_energy_lines(
    draft: BillDraft,
    *,
    tariffs: ChunkTariffs,
    days_by_tariff: dict[int, list[date]],
    tariff_by_pk: dict[int, Tariff],
    energy: Energy,
) -> None:
    """One line per tariff and band used: windowed bands first, then the default band."""
    for tariff_pk, tariff_days in days_by_tariff.items():
        tariff = tariff_by_pk[tariff_pk]
        span = f"{tariff_days[0]:%d %b}-{tariff_days[-1]:%d %b}"
        for rate in sorted(tariffs.rates[tariff_pk], key=lambda r: (r.starts_at is None, r.band)):
            kwh = energy.get((tariff_pk, rate.pk))
            if kwh is None:
                continue
            quantity = kwh.quantize(KWH)
            label = (
                tariff.name if len(tariffs.rates[tariff_pk]) == 1 else f"{tariff.name} {rate.band}"
            )
            draft.lines.append(
                LineDraft(
                    kind=LineKind.ENERGY,
                    description=f"{label} energy, {span}: {_fmt_kwh(quantity)} kWh",
                    quantity=quantity,
                    unit="kWh",
                    unit_price=rate.unit_rate,
                    tariff=tariff,
                    band=rate.band,
                )
            )


def _add_standing_lines(
    draft: BillDraft, *, days_by_tariff: dict[int, list[date]], tariff_by_pk: dict[int, Tariff]
) -> None:
    for tariff_pk, tariff_days in days_by_tariff.items():
        tariff = tariff_by_pk[tariff_pk]
        count = len(tariff_days)
        draft.lines.append(
            LineDraft(
                kind=LineKind.STANDING,
                description=f"{tariff.name} standing charge, {count} days",
                quantity=Decimal(count),
                unit="day",
                unit_price=tariff.standing_charge_per_day,
                tariff=tariff,
            )
        )


def _add_vat_lines(draft: BillDraft) -> None:
    """One VAT line per VAT rate, on the sum of that rate's charges. Export credits are outside
    VAT (see _credit_export): VAT is on the charges only."""
    vat_groups: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in draft.lines:
        if line.tariff is not None and line.kind != LineKind.EXPORT:
            vat_groups[line.tariff.vat_rate] += line.amount
    for rate, net in sorted(vat_groups.items()):
        vat = LineDraft(
            kind=LineKind.VAT,
            description=f"VAT at {(rate * 100).normalize():f}% on {net}",
            quantity=net,
            unit="GBP",
            unit_price=rate,
        )
        vat.amount = vat_on(net=net, vat_rate=rate)
        draft.lines.append(vat)


def _credit_export(draft: BillDraft, tariff: Tariff, days: list[date], kwh: Decimal) -> None:
    """An export credit line: the kWh exported on the tariff's days of the month times its
    ``export_rate``, as a negative amount. None when the tariff has no (or a zero) export rate or
    nothing was exported; a meter without an export register exports nothing.

    The credit is outside VAT: payments to a domestic generator for exported electricity (the
    Smart Export Guarantee) are not a taxable supply, so VAT is computed on the charges alone and
    the credit is taken off after it. The bill's subtotal is the sum of its non-VAT lines, the
    credit included, so ``total = subtotal + vat`` still holds; a total below zero is a credit
    balance owed to the customer (``Bill.is_credit``)."""
    quantity = kwh.quantize(KWH)
    if not tariff.export_rate or quantity <= 0:
        return
    draft.lines.append(
        LineDraft(
            kind=LineKind.EXPORT,
            description=(
                f"{tariff.name} export credit, {days[0]:%d %b}-{days[-1]:%d %b}: "
                f"{_fmt_kwh(quantity)} kWh (no VAT)"
            ),
            quantity=quantity,
            unit="kWh",
            unit_price=tariff.export_rate,
            tariff=tariff,
        )
    )
