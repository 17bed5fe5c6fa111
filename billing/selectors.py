"""Every read of tariffs and bills that is more than ``.get()``, scoped to the requesting user."""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import CustomerAccount, User
from accounts.permissions import scope_to_user
from config.exceptions import InvalidInput, NotFound
from meters.timeutils import HALF_HOUR, day_bounds

from .models import (
    PRICE_PLACES,
    BankStatementLine,
    Bill,
    BillRun,
    BillState,
    DirectDebitRun,
    EntryKind,
    HalfHourRate,
    LedgerEntry,
    LineStatus,
    RateDirection,
    Tariff,
    TariffAssignment,
    WindowKind,
)
from .usage import rate_at


def tariffs_list() -> QuerySet[Tariff]:
    return Tariff.objects.prefetch_related("rates")


def tariff_on(*, account: CustomerAccount, day: date) -> Tariff | None:
    """The tariff the account is on for the local ``day``, or None."""
    assignment = (
        TariffAssignment.objects.filter(account=account, starts_on__lte=day)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .select_related("tariff")
        .prefetch_related("tariff__rates")
        .first()
    )
    return assignment.tariff if assignment else None


def tariff_window_at(*, account: CustomerAccount, at: datetime) -> str | None:
    """``"cheap"``, ``"peak"`` or ``"standard"``: the kind of the tariff band the account's
    half-hour containing ``at`` is priced in (local time, Europe/London by default); None when
    the account has no tariff then (or, on a dynamic tariff, no price for that half-hour yet:
    see ``_dynamic_window``). Batteries use this to charge in cheap windows."""
    local = timezone.localtime(at)
    tariff = tariff_on(account=account, day=local.date())
    if tariff is None:
        return None
    if tariff.import_dynamic:
        return _dynamic_window(account=account, local=local)
    rate = rate_at(tariff.rates.all(), local)
    return rate.kind if rate else None


def _dynamic_window(*, account: CustomerAccount, local: datetime) -> str | None:
    """On a dynamic tariff a half-hour is cheap among the cheapest quarter of its local day's
    known prices, peak among the dearest quarter, standard otherwise; None without its price."""
    tz = timezone.get_default_timezone()
    start, end = day_bounds(local.date(), tz)
    prices = half_hour_prices(account=account, start=start, end=end)
    values = sorted(p.value_exc_vat for p in prices if p.value_exc_vat is not None)
    slot = local - timedelta(
        minutes=local.minute % 30, seconds=local.second, microseconds=local.microsecond
    )
    own = next((p.value_exc_vat for p in prices if p.valid_from == slot), None)
    if own is None:
        return None
    quarter = max(1, len(values) // 4)
    if own <= values[quarter - 1]:
        return WindowKind.CHEAP
    if own >= values[-quarter]:
        return WindowKind.PEAK
    return WindowKind.STANDARD


def bills_for_user(*, user: User) -> QuerySet[Bill]:
    """Staff: every bill. Customers: their accounts' issued and void bills (drafts are work in
    progress nobody has sent them). Anyone else: none."""
    bills = scope_to_user(
        Bill.objects.select_related("account", "corrects").prefetch_related("corrections"),
        user,
    )
    if not user.is_staff:
        bills = bills.exclude(state=BillState.DRAFT)
    return bills.order_by("-month", "account__account_number", "-created_at")


def bill_for_user(*, user: User, number: str) -> Bill:
    """404 (not 403) for a bill the user may not see, so nobody learns which numbers exist."""
    bill = (
        bills_for_user(user=user)
        .prefetch_related("lines", "reads", Prefetch("lines__tariff"))
        .filter(number=number)
        .first()
    )
    if bill is None:
        raise NotFound(f"No bill {number!r}.")
    return bill


def bill_last_month(*, user: User, account: CustomerAccount | None = None) -> Bill:
    """The issued bill for last month (local) of the account (or the user's only account)."""
    bills = bills_for_user(user=user).filter(state=BillState.ISSUED)
    if account is not None:
        bills = bills.filter(account=account)
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    bill = bills.filter(month=last_month).first()
    if bill is None:
        raise NotFound(f"No issued bill for {last_month:%Y-%m} yet.")
    return bill


def bill_run_status() -> dict:
    run = BillRun.objects.first()
    if run is None:
        return {"last_run": None}
    return {
        "last_run": {
            "month": f"{run.month:%Y-%m}",
            "trigger": run.trigger,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "progress": run.progress,
            "accounts": run.accounts,
            "created": run.created,
            "regenerated": run.regenerated,
            "unchanged": run.unchanged,
            "issued": run.issued,
            "flagged": run.flagged,
        },
        "drafts_needing_review": Bill.objects.filter(
            state=BillState.DRAFT, needs_review=True
        ).count(),
    }


class UnitRate(NamedTuple):
    unit_rate: Decimal  # per kWh, before VAT
    vat_rate: Decimal


def unit_rate_now(*, account: CustomerAccount) -> UnitRate | None:
    """The account's price of one kWh now: its tariff's unit rate in force at this moment (the
    current band of a time-of-use tariff, the current half-hour's feed rate of a dynamic one)
    and the tariff's VAT rate; None without a tariff or a rate. Whoever prices energy with it
    uses ``billing.services.price_inc_vat``, so the portal's estimate rounds as bills do; bills
    themselves price each half-hour in its band or at its own rate."""
    now = timezone.localtime()
    tariff = tariff_on(account=account, day=now.date())
    if tariff is not None and tariff.import_dynamic:
        slot = now.astimezone(UTC).replace(minute=now.minute // 30 * 30, second=0, microsecond=0)
        [price] = half_hour_prices(account=account, start=slot, end=slot + HALF_HOUR)
        if price.value_exc_vat is None:
            return None
        return UnitRate(unit_rate=price.value_exc_vat, vat_rate=tariff.vat_rate)
    rate = rate_at(tariff.rates.all(), now) if tariff else None
    if rate is None:
        return None
    return UnitRate(unit_rate=rate.unit_rate, vat_rate=tariff.vat_rate)


class HalfHourPrice(NamedTuple):
    valid_from: datetime  # aware UTC, start of the half-hour
    valid_to: datetime  # aware UTC, valid_from + 30 min
    value_exc_vat: Decimal | None  # per kWh, as TariffRate.unit_rate; None = missing
    value_inc_vat: Decimal | None


PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_PLACES)


def inc_vat(value: Decimal, vat_rate: Decimal) -> Decimal:
    """A unit rate with VAT, kept to the unit rates' five places (half-up)."""
    return (value * (1 + vat_rate)).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def half_hour_prices(
    *, account: CustomerAccount, start: datetime, end: datetime, direction: str = "import"
) -> list[HalfHourPrice]:
    """Every half-hour in [start, end) (aligned to half-hours, aware), priced by the account's
    tariff on the half-hour's local day (settings.TIME_ZONE): flat and time-of-use bands as bills
    price them, the price feed's half-hourly rates for a dynamic tariff. ``direction="export"``
    gives the export rate (the flat ``export_rate`` or the dynamic export rates), which is outside
    VAT, so its ``value_inc_vat`` equals ``value_exc_vat``. A half-hour with no tariff or no
    stored rate has value None, never zero. A local day has 46, 48 or 50 half-hours."""
    _half_hour_range_check(start=start, end=end, direction=direction)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    tz = timezone.get_default_timezone()
    slots = [start + k * HALF_HOUR for k in range(int((end - start) / HALF_HOUR))]
    if not slots:
        return []
    tariffs = _tariffs_by_day(
        account=account, first=slots[0].astimezone(tz).date(), last=slots[-1].astimezone(tz).date()
    )
    feed = _feed_rates(tariffs=tariffs.values(), direction=direction, start=start, end=end)
    prices = []
    for slot in slots:
        local = slot.astimezone(tz)
        tariff = tariffs.get(local.date())
        value = None if tariff is None else _slot_value(tariff, local, slot, direction, feed)
        if value is None:
            prices.append(HalfHourPrice(slot, slot + HALF_HOUR, None, None))
        else:
            with_vat = rate_inc_vat(tariff=tariff, direction=direction, value=value)
            prices.append(HalfHourPrice(slot, slot + HALF_HOUR, value, with_vat))
    return prices


def _half_hour_range_check(*, start: datetime, end: datetime, direction: str) -> None:
    errors = {}
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            errors[name] = ["must be an aware datetime (with an offset)."]
        elif value.minute % 30 or value.second or value.microsecond:
            errors[name] = ["must be the start of a half-hour (:00 or :30)."]
    if not errors and end < start:
        errors["end"] = ["must not be before start."]
    if direction not in RateDirection.values:
        errors["direction"] = [f"must be one of {', '.join(RateDirection.values)}."]
    if errors:
        raise InvalidInput(errors)


def _tariffs_by_day(*, account: CustomerAccount, first: date, last: date) -> dict[date, Tariff]:
    assignments = (
        TariffAssignment.objects.filter(account=account, starts_on__lte=last)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=first))
        .select_related("tariff")
        .prefetch_related("tariff__rates")
    )
    by_day = {}
    for assignment in assignments:
        day = max(first, assignment.starts_on)
        stop = min(last, assignment.ends_on or last)
        while day <= stop:
            by_day[day] = assignment.tariff
            day += timedelta(days=1)
    return by_day


def _feed_rates(*, tariffs, direction: str, start: datetime, end: datetime) -> dict:
    """{(tariff pk, valid_from): value} of the dynamic tariffs among ``tariffs``."""
    flag = "import_dynamic" if direction == RateDirection.IMPORT else "export_dynamic"
    dynamic = {tariff.pk for tariff in tariffs if getattr(tariff, flag)}
    if not dynamic:
        return {}
    rows = HalfHourRate.objects.filter(
        tariff_id__in=dynamic, direction=direction, valid_from__gte=start, valid_from__lt=end
    ).values_list("tariff_id", "valid_from", "value_exc_vat")
    return {(tariff_id, at): value for tariff_id, at, value in rows}


def _slot_value(tariff: Tariff, local: datetime, slot: datetime, direction: str, feed: dict):
    if direction == RateDirection.IMPORT:
        if tariff.import_dynamic:
            return feed.get((tariff.pk, slot))
        rate = rate_at(tariff.rates.all(), local)
        return rate.unit_rate if rate else None
    if tariff.export_dynamic:
        return feed.get((tariff.pk, slot))
    return tariff.export_rate


def tariff_for_user(*, user: User, code: str) -> Tariff:
    """The tariff ``code`` if the user may read its unit rates: staff any, a logged-in user a
    public tariff or one their accounts are or were on; 404 otherwise (nobody learns which codes
    exist)."""
    tariffs = Tariff.objects.filter(code=code)
    if not user.is_staff:
        on_it = scope_to_user(TariffAssignment.objects.filter(tariff__code=code), user)
        if not user.is_authenticated or not (
            tariffs.filter(is_public=True).exists() or on_it.exists()
        ):
            tariffs = tariffs.none()
    tariff = tariffs.first()
    if tariff is None:
        raise NotFound(f"No tariff {code!r}.")
    return tariff


def half_hour_rates(
    *,
    tariff: Tariff,
    direction: str = RateDirection.IMPORT,
    period_from: datetime | None = None,
    period_to: datetime | None = None,
) -> QuerySet[HalfHourRate]:
    """The feed's stored rates of ``tariff`` in ``direction`` starting in [period_from,
    period_to), newest first (as the Octopus API lists them)."""
    rates = HalfHourRate.objects.filter(tariff=tariff, direction=direction)
    if period_from is not None:
        rates = rates.filter(valid_from__gte=period_from)
    if period_to is not None:
        rates = rates.filter(valid_from__lt=period_to)
    return rates.order_by("-valid_from")


def rate_inc_vat(*, tariff: Tariff, direction: str, value: Decimal) -> Decimal:
    """A stored rate with VAT as it is shown: import carries the tariff's VAT, export is outside
    VAT (the value itself)."""
    vat_rate = tariff.vat_rate if direction == RateDirection.IMPORT else Decimal(0)
    return inc_vat(value, vat_rate)


# ---- the ledger -----------------------------------------------------------------------------


def account_balance(*, account: CustomerAccount, on: date | None = None) -> Decimal:
    """The sum of the account's entries (up to the local day ``on``): above zero the customer
    owes it, below zero it is their credit."""
    entries = LedgerEntry.objects.filter(account=account)
    if on is not None:
        entries = entries.filter(posted_on__lte=on)
    return entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


class StatementLine(NamedTuple):
    entry: LedgerEntry
    balance: Decimal


class Statement(NamedTuple):
    account: CustomerAccount
    start: date | None
    end: date | None
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal


def statement(
    *, account: CustomerAccount, start: date | None = None, end: date | None = None
) -> Statement:
    """The account's entries from ``start`` to ``end`` (local days, inclusive; open when
    None) with the running balance, the balance brought forward and the closing one."""
    before = LedgerEntry.objects.filter(account=account)
    opening = Decimal("0.00")
    if start is not None:
        opening = before.filter(posted_on__lt=start).aggregate(total=Sum("amount"))["total"]
        opening = opening or Decimal("0.00")
        before = before.filter(posted_on__gte=start)
    if end is not None:
        before = before.filter(posted_on__lte=end)
    running, lines = opening, []
    for entry in before.select_related("bill").order_by("posted_on", "pk"):
        running += entry.amount
        lines.append(StatementLine(entry, running))
    return Statement(account, start, end, opening, lines, running)


class BillBalance(NamedTuple):
    brought_forward: Decimal
    this_bill: Decimal  # what the bill put on the ledger (a correction: its difference)
    after: Decimal


def bill_balance(*, bill: Bill) -> BillBalance | None:
    """The balance before the bill entered the ledger and after it; None for a bill that never
    entered it (a draft, or one voided before it was issued)."""
    entry = (
        LedgerEntry.objects.filter(bill=bill, kind__in=[EntryKind.BILL, EntryKind.CORRECTION])
        .order_by("pk")
        .first()
    )
    if entry is None:
        return None
    earlier = LedgerEntry.objects.filter(account_id=bill.account_id).filter(
        Q(posted_on__lt=entry.posted_on) | Q(posted_on=entry.posted_on, pk__lt=entry.pk)
    )
    brought = earlier.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    return BillBalance(brought, entry.amount, brought + entry.amount)


def ledger_entries_for_user(*, user: User) -> QuerySet[LedgerEntry]:
    return scope_to_user(LedgerEntry.objects.select_related("account", "bill"), user)


def bank_lines_to_match() -> QuerySet[BankStatementLine]:
    """Rows of bank statements no account was found for (and unreadable ones), oldest first."""
    return BankStatementLine.objects.filter(
        status__in=[LineStatus.UNMATCHED, LineStatus.INVALID]
    ).select_related("statement")


def direct_debit_rows(*, run: DirectDebitRun) -> list[list]:
    return [
        [
            item.account.account_number,
            item.mandate_reference,
            f"{item.amount:.2f}",
            item.currency,
            run.collection_date.isoformat(),
        ]
        for item in run.items.select_related("account").order_by("account__account_number")
    ]
