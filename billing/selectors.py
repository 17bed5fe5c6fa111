"""Every read of tariffs and bills that is more than ``.get()``, scoped to the requesting user."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import CustomerAccount, User
from accounts.permissions import scope_to_user
from config.exceptions import NotFound

from .models import (
    BankStatementLine,
    Bill,
    BillRun,
    BillState,
    DirectDebitRun,
    EntryKind,
    LedgerEntry,
    LineStatus,
    Tariff,
    TariffAssignment,
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
    the account has no tariff then. Batteries use this to charge in cheap windows."""
    local = timezone.localtime(at)
    tariff = tariff_on(account=account, day=local.date())
    if tariff is None:
        return None
    rate = rate_at(tariff.rates.all(), local)
    return rate.kind if rate else None


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
    current band of a time-of-use tariff) and the tariff's VAT rate; None without a tariff or a
    rate. Whoever prices energy with it uses ``billing.services.price_inc_vat``, so the portal's
    estimate rounds as bills do; bills themselves price each half-hour in its band."""
    now = timezone.localtime()
    tariff = tariff_on(account=account, day=now.date())
    rate = rate_at(tariff.rates.all(), now) if tariff else None
    if rate is None:
        return None
    return UnitRate(unit_rate=rate.unit_rate, vat_rate=tariff.vat_rate)


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
