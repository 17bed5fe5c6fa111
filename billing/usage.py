"""What each meter of a set of accounts used in a local month, read set-based.

The queries answer for a chunk of accounts at once (a fixed number of queries per chunk, never
one per meter):

* boundary readings per meter: the last reading at or before the period's start S and the first
  after it, and the same around its end E (correlated sub-queries on the (meter, at) index);
* daily roll-ups (meters.DailyUsage) per meter and local day, for tariffs with one flat rate;
* for time-of-use tariffs, half-hourly consumption from consecutive register readings paired with
  the window function LAG, in SQL; on days of a dynamic tariff (its import priced per half-hour
  by the price feed) the same half-hours are kept one by one (``MeterUsage.half_hours``);
* exported energy per meter and local day from the same roll-ups (``DailyUsage.export_kwh``) for
  every account, flat or time-of-use: export has one rate per tariff, so it needs no half-hours.
  A meter without an export register (roll-ups' ``export_kwh`` empty) exports nothing.

Those rows come from ``meters.selectors`` (``meters/selectors/usage.py``): billing queries no
meters table itself, and computes the month here.

Energy of an interval belongs to the reading that ends it (see meters.models). The period's
energy is the energy of every interval inside [S, E]; an interval that crosses S or E is split
by linear interpolation between its two readings, which is also how a missing boundary reading
is estimated (quality E). Resets are per register (meters.models.Reading): an interval that
ends in an import register reset counts no import, one that ends in an export register reset no
export, and each register's energy of the interval counts whatever the other did. Export is
corrected at S and E the same way, from the export registers of the same boundary readings.
"""

import math
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from meters import selectors as meter_selectors
from meters.models import ReadingQuality
from meters.timeutils import HALF_HOUR, day_bounds, interval_day

from .models import ReadQuality, TariffRate

ZERO = Decimal(0)
KWH = Decimal("0.0001")


@dataclass(frozen=True)
class Point:
    at: datetime
    kwh: Decimal
    estimated: bool
    reset: bool
    export_kwh: Decimal | None = None
    export_reset: bool = False
    customer: bool = False  # a read the customer submitted (printed C)

    @property
    def quality(self) -> str:
        if self.estimated:
            return ReadQuality.ESTIMATED
        return ReadQuality.CUSTOMER if self.customer else ReadQuality.ACTUAL


@dataclass
class BoundaryRead:
    at: datetime | None
    kwh: Decimal | None
    quality: str
    note: str = ""


@dataclass
class MeterUsage:
    """One meter's month. ``energy`` maps (day, band key) to kWh; the band key is the rate's pk
    for time-of-use accounts and None for flat ones (priced by the day's tariff). ``half_hours``
    maps (day, UTC start) to kWh on days whose tariff prices import half-hourly. ``export`` maps
    day to exported kWh (empty for a meter without an export register), except on days whose
    tariff pays export half-hourly, which are in ``export_half_hours`` instead."""

    meter_pk: int
    serial: str
    account_id: int
    tz: zoneinfo.ZoneInfo
    opening: BoundaryRead
    closing: BoundaryRead
    resets: int = 0
    has_readings: bool = False
    energy: dict[tuple[date, int | None], Decimal] = field(default_factory=dict)
    half_hours: dict[tuple[date, datetime], Decimal] = field(default_factory=dict)
    export: dict[date, Decimal] = field(default_factory=dict)
    export_half_hours: dict[tuple[date, datetime], Decimal] = field(default_factory=dict)

    @property
    def consumption_kwh(self) -> Decimal:
        return sum(self.energy.values(), ZERO) + sum(self.half_hours.values(), ZERO)


def half_hour_start(at: datetime) -> datetime:
    """The start of the half-hour ``at`` falls in (the price feed's key), for readings taken off
    the half-hour."""
    return at - timedelta(minutes=at.minute % 30, seconds=at.second, microseconds=at.microsecond)


def month_days(first: date) -> list[date]:
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return [first + timedelta(days=n) for n in range((nxt - first).days)]


def rate_at(rates: Iterable[TariffRate], local: datetime) -> TariffRate | None:
    """The band of the half-hour beginning at ``local`` (an aware local time): the first window
    (by priority) that covers its wall-clock time on its ISO weekday, else the default band."""
    clock = local.time().replace(tzinfo=None)
    weekday = str(local.isoweekday())
    default = None
    for rate in sorted(rates, key=lambda r: (r.priority, r.pk or 0)):
        if rate.starts_at is None:
            default = default or rate
        elif weekday in rate.days and _in_window(clock, rate.starts_at, rate.ends_at):
            return rate
    return default


def _in_window(clock: time, starts_at: time, ends_at: time) -> bool:
    if starts_at < ends_at:
        return starts_at <= clock < ends_at
    return clock >= starts_at or clock < ends_at


def _point(at, kwh, quality, reset, export_kwh=None, export_reset=False) -> Point | None:
    if at is None:
        return None
    return Point(
        at=at,
        kwh=kwh,
        estimated=quality == ReadingQuality.ESTIMATED,
        customer=quality == ReadingQuality.CUSTOMER,
        reset=bool(reset),
        export_kwh=export_kwh,
        export_reset=bool(export_reset),
    )


def _interpolate(before: Point, after: Point, at: datetime) -> Decimal:
    share = Decimal((at - before.at) / (after.at - before.at))
    return (before.kwh + (after.kwh - before.kwh) * share).quantize(KWH)


def _export_inside(before: Point | None, after: Point | None, at: datetime) -> Decimal:
    """Exported kWh of the interval (before, after] that falls before ``at``, by linear
    interpolation; zero when either end has no export register or the interval ends in an export
    register reset."""
    if (
        before is None
        or after is None
        or after.export_reset
        or before.export_kwh is None
        or after.export_kwh is None
        or not before.at < at < after.at
    ):
        return ZERO
    share = Decimal((at - before.at) / (after.at - before.at))
    return ((after.export_kwh - before.export_kwh) * share).quantize(KWH)


def _boundary(before: Point | None, after: Point | None, at: datetime, end: datetime, which: str):
    """(BoundaryRead, energy of the crossing interval on the period's side of ``at``'s left).

    Returns the read printed on the bill and the register value the period's energy is counted
    from/to at this boundary."""
    if before is not None and before.at == at:
        return BoundaryRead(before.at, before.kwh, before.quality), before.kwh
    if before is not None and after is not None and not after.reset:
        value = _interpolate(before, after, at)
        note = (
            f"{which} read estimated by interpolation between {before.kwh} kWh at "
            f"{before.at:%Y-%m-%d %H:%M} UTC and {after.kwh} kWh at {after.at:%Y-%m-%d %H:%M} UTC."
        )
        return BoundaryRead(at, value, ReadQuality.ESTIMATED, note), value
    if which == "Opening" and after is not None and after.at <= end:
        quality = after.quality
        note = f"Opening read is the first reading of the period ({after.at:%Y-%m-%d %H:%M} UTC)."
        if after.reset:
            note = "Opening read is the register after a reset early in the period."
        return BoundaryRead(after.at, after.kwh, quality, note), after.kwh
    if which == "Closing" and before is not None:
        quality = before.quality
        note = f"Closing read is the last reading so far ({before.at:%Y-%m-%d %H:%M} UTC)."
        return BoundaryRead(before.at, before.kwh, quality, note), before.kwh
    return BoundaryRead(None, None, ""), None


def meter_usage_for_accounts(
    *,
    account_ids: list[int],
    first: date,
    rates_for_day: Callable[[int, date], list[TariffRate] | None],
    time_of_use_accounts: set[int],
    dynamic_on: Callable[[int, date], bool] | None = None,
    export_dynamic_on: Callable[[int, date], bool] | None = None,
) -> dict[int, list[MeterUsage]]:
    """Usage of every meter of ``account_ids`` in the local month starting ``first``.

    ``rates_for_day(account_id, day)`` gives the rates of the tariff the account is on that day
    (used to band time-of-use half-hours); ``time_of_use_accounts`` are the accounts whose month
    needs half-hourly data; ``dynamic_on(account_id, day)`` says whether that day's import is
    priced per half-hour (kept in ``half_hours``), ``export_dynamic_on`` the same of export
    (``export_half_hours``). Returns {account_id: [MeterUsage, ...]}.
    """
    by_timezone = meter_selectors.meters_by_timezone(account_ids=account_ids)
    days = month_days(first)
    result: dict[int, list[MeterUsage]] = defaultdict(list)
    for tz_name, pks in by_timezone.items():
        tz = zoneinfo.ZoneInfo(tz_name)
        start, end = day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1]
        usages: dict[int, MeterUsage] = {}
        crossing: dict[int, tuple] = {}
        rows = meter_selectors.meter_boundary_readings(meter_pks=pks, start=start, end=end)
        for row in rows:
            points = {
                name: _point(
                    *(row[f"{name}_{column}"] for column in meter_selectors.BOUNDARY_COLUMNS)
                )
                for name in meter_selectors.BOUNDARIES
            }
            opening, open_from = _boundary(points["b0"], points["a0"], start, end, "Opening")
            closing, close_to = _boundary(points["b1"], points["a1"], end, end, "Closing")
            has_readings = points["a0"] is not None and points["a0"].at <= end
            if not has_readings and points["b0"] and points["a0"]:
                has_readings = True  # one interval spans the whole month: both ends estimated
            usage = MeterUsage(
                meter_pk=row["pk"],
                serial=row["meter_id"],
                account_id=row["account_id"],
                tz=tz,
                opening=opening,
                closing=closing,
                has_readings=has_readings,
            )
            usages[row["pk"]] = usage
            result[row["account_id"]].append(usage)
            crossing[row["pk"]] = (points, open_from, close_to)
        flat = [pk for pk, u in usages.items() if u.account_id not in time_of_use_accounts]
        banded = [pk for pk, u in usages.items() if u.account_id in time_of_use_accounts]
        if flat:
            _flat_energy(usages, flat, days, crossing, end)
        if banded:
            _banded_energy(usages, banded, start, end, rates_for_day, dynamic_on)
            _banded_export(usages, banded, days)
        _export_boundaries(usages, days, crossing, start, end)
        if export_dynamic_on is not None:
            _half_hourly_export(usages, days, start, end, export_dynamic_on)
        _count_resets(usages, start, end)
    for usages in result.values():
        usages.sort(key=lambda usage: usage.serial)
    return result


def _add(usage: MeterUsage, day: date, band: int | None, kwh: Decimal) -> None:
    key = (day, band)
    usage.energy[key] = usage.energy.get(key, ZERO) + kwh


def _add_export(usage: MeterUsage, day: date, kwh: Decimal) -> None:
    usage.export[day] = usage.export.get(day, ZERO) + kwh


def _flat_energy(usages, pks, days, crossing, end) -> None:
    """Daily roll-ups, corrected at each end for the part of a crossing interval outside the
    period: sum(days) - (opening - reading before S) + (closing - reading before E). The same rows
    give the days' export."""
    rows = meter_selectors.daily_usage_rows(meter_pks=pks, first_day=days[0], last_day=days[-1])
    for meter_pk, day, kwh, exported in rows:
        _add(usages[meter_pk], day, None, kwh)
        if exported is not None:
            _add_export(usages[meter_pk], day, exported)
    for pk in pks:
        usage = usages[pk]
        points, open_from, close_to = crossing[pk]
        b0, a0, b1 = points["b0"], points["a0"], points["b1"]
        if b0 is not None and a0 is not None and open_from is not None and not a0.reset:
            outside = open_from - b0.kwh
            day = interval_day(a0.at, usage.tz) if a0.at <= end else days[-1]
            if outside:
                _add(usage, max(day, days[0]), None, -outside)
        if b1 is not None and close_to is not None and close_to != b1.kwh:
            _add(usage, days[-1], None, close_to - b1.kwh)


def _banded_export(usages, pks, days) -> None:
    """Time-of-use meters' export from the daily roll-ups (their import is read half-hourly)."""
    rows = meter_selectors.daily_usage_rows(
        meter_pks=pks, first_day=days[0], last_day=days[-1], exported_only=True
    )
    for meter_pk, day, _imported, exported in rows:
        _add_export(usages[meter_pk], day, exported)


def _export_boundaries(usages, days, crossing, start, end) -> None:
    """Export of the intervals crossing S and E, as for flat import: the roll-ups hold an
    interval on the day of the reading that ends it, so the share of the interval crossing S that
    lies before S is taken off, and the share of the interval crossing E that lies before E is
    added (it is on next month's first day)."""
    for pk, usage in usages.items():
        points = crossing[pk][0]
        b0, a0, b1, a1 = points["b0"], points["a0"], points["b1"], points["a1"]
        outside = _export_inside(b0, a0, start)
        if outside:
            day = interval_day(a0.at, usage.tz) if a0.at <= end else days[-1]
            _add_export(usage, max(day, days[0]), -outside)
        inside = _export_inside(b1, a1, end)
        if inside:
            _add_export(usage, days[-1], inside)


def _banded_energy(usages, pks, start, end, rates_for_day, dynamic_on=None) -> None:
    """Half-hourly consumption from consecutive readings (LAG in SQL): each interval's energy is
    spread evenly over the half-hours it spans, and each half-hour is priced by the band its
    local start time falls in, or kept as it is on a day priced half-hourly."""
    pairs = meter_selectors.reading_intervals(meter_pks=pks, start=start, end=end)
    rates_cache: dict[tuple[int, date], list | None] = {}
    dynamic_cache: dict[tuple[int, date], bool] = {}
    for meter_pk, prev_at, prev_kwh, at, kwh, reset in pairs:
        if prev_at is None or reset or at <= start or prev_at >= end:
            continue
        usage = usages[meter_pk]
        slots = max(1, math.ceil((at - prev_at) / HALF_HOUR))
        share = (kwh - prev_kwh) / slots
        for k in range(slots):
            slot = prev_at + k * HALF_HOUR
            if not start <= slot < end:
                continue
            local = slot.astimezone(usage.tz)
            day = local.date()
            key = (usage.account_id, day)
            if key not in rates_cache:
                rates_cache[key] = rates_for_day(usage.account_id, day)
                dynamic_cache[key] = bool(dynamic_on and dynamic_on(usage.account_id, day))
            if dynamic_cache[key]:
                hh = (day, half_hour_start(slot))
                usage.half_hours[hh] = usage.half_hours.get(hh, ZERO) + share
                continue
            rate = rate_at(rates_cache[key] or [], local)
            _add(usage, day, rate.pk if rate else None, share)


def _half_hourly_export(usages, days, start, end, export_dynamic_on) -> None:
    """Export of the days whose tariff pays it per half-hour, from consecutive export registers
    spread evenly over the half-hours each interval spans (as import is); those days leave the
    daily export."""
    on = {
        (usage.account_id, day): export_dynamic_on(usage.account_id, day)
        for usage in usages.values()
        for day in days
    }
    pks = [pk for pk, usage in usages.items() if any(on[(usage.account_id, d)] for d in days)]
    if not pks:
        return
    pairs = meter_selectors.export_reading_intervals(meter_pks=pks, start=start, end=end)
    for meter_pk, prev_at, prev_kwh, at, kwh, reset in pairs:
        if prev_at is None or reset or at <= start or prev_at >= end:
            continue
        usage = usages[meter_pk]
        slots = max(1, math.ceil((at - prev_at) / HALF_HOUR))
        share = (kwh - prev_kwh) / slots
        for k in range(slots):
            slot = prev_at + k * HALF_HOUR
            day = slot.astimezone(usage.tz).date()
            if start <= slot < end and on.get((usage.account_id, day)):
                key = (day, half_hour_start(slot))
                usage.export_half_hours[key] = usage.export_half_hours.get(key, ZERO) + share
    for pk in pks:
        usage = usages[pk]
        for day in days:
            if on[(usage.account_id, day)]:
                usage.export.pop(day, None)


def _count_resets(usages, start, end) -> None:
    """Readings in (S, E] that reset a register (import, export or both count once)."""
    counted = meter_selectors.register_resets(meter_pks=list(usages), start=start, end=end)
    for meter_pk in counted:
        usages[meter_pk].resets += 1
