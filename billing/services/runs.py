"""Bill runs: a month's bills generated in chunks of accounts.

Usage is read set-based for the whole chunk (billing.usage), each account's bill is composed
in memory (composition.py), and the chunk's bills, lines and reads are written in bulk in one
transaction (writing.py), under row locks on the chunk's accounts so two runs of the same month
cannot both create a bill.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import CustomerAccount
from meters.timeutils import day_bounds

from .. import usage as usage_reads
from ..charging_sessions import Session, sessions_for_accounts
from ..models import Bill, BillRun, BillState
from .composition import compose
from .drafts import BillDraft, ChunkTariffs
from .ledger import bills_issued
from .periods import ended_month
from .states import bill_issue
from .writing import fill, write_chunk

log = logging.getLogger(__name__)

CHUNK_ACCOUNTS = 2000
CREATED = "created"
REGENERATED = "regenerated"
UNCHANGED = "unchanged"


@dataclass
class RunSummary:
    accounts: int = 0
    created: int = 0
    regenerated: int = 0
    unchanged: int = 0
    issued: int = 0
    flagged: int = 0
    bills: list[tuple[Bill, str]] = field(default_factory=list)

    def add(self, other: "RunSummary") -> None:
        for name in ("accounts", "created", "regenerated", "unchanged", "issued", "flagged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.bills.extend(other.bills)


@dataclass
class _MonthBills:
    """The chunk's existing bills of the month, by account: the draft, the issued bill, the
    latest void one, and how many there are (the next bill's number)."""

    drafts: dict[int, Bill] = field(default_factory=dict)
    issued: dict[int, Bill] = field(default_factory=dict)
    latest_void: dict[int, Bill] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class _ChunkInputs:
    """Everything the chunk's bills are composed from, read set-based once per chunk."""

    days: list[date]
    tariffs: ChunkTariffs
    meter_usages: dict[int, list[usage_reads.MeterUsage]]
    sessions: dict[int, list[Session]]


@transaction.atomic
def generate_chunk(
    *, account_ids: list[int], first: date, issue: bool, correcting: Bill | None = None
) -> RunSummary:
    """Bills of ``first``'s month for ``account_ids``: issued ones stay, drafts are
    regenerated, missing ones are created; ``correcting`` links every new or regenerated
    bill to the issued bill it corrects."""
    summary = RunSummary(accounts=len(account_ids))
    accounts = dict(
        CustomerAccount.objects.select_for_update()
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk", "account_number")
    )
    existing = _month_bills(account_ids=list(accounts), first=first)
    to_build = [
        pk
        for pk in accounts
        if pk in existing.drafts or pk not in existing.issued or correcting is not None
    ]
    for pk in accounts:
        if pk not in to_build:
            summary.unchanged += 1
            summary.bills.append((existing.issued[pk], UNCHANGED))
    if not to_build:
        return summary

    inputs = _read_inputs(account_ids=to_build, first=first)
    new_pairs, regenerated = _compose_bills(
        accounts=accounts,
        to_build=to_build,
        first=first,
        inputs=inputs,
        existing=existing,
        issue=issue,
        correcting=correcting,
        summary=summary,
    )
    write_chunk(new_pairs=new_pairs, regenerated=regenerated)
    bills_issued(bills=[bill for bill, _ in new_pairs])
    for bill, _ in new_pairs:
        summary.created += 1
        summary.issued += bill.state == BillState.ISSUED
        summary.bills.append((bill, CREATED))
    for bill, draft in regenerated:
        summary.regenerated += 1
        if issue and not draft.needs_review:
            bill_issue(bill=bill)
            summary.issued += 1
        summary.bills.append((bill, REGENERATED))
    return summary


def _month_bills(*, account_ids: list[int], first: date) -> _MonthBills:
    existing = _MonthBills()
    bills = Bill.objects.filter(account_id__in=account_ids, month=first).defer(
        "daily_usage", "notes"
    )
    for bill in bills.order_by("created_at", "pk"):
        existing.counts[bill.account_id] += 1
        if bill.state == BillState.DRAFT:
            existing.drafts[bill.account_id] = bill
        elif bill.state == BillState.ISSUED:
            existing.issued[bill.account_id] = bill
        else:
            existing.latest_void[bill.account_id] = bill
    return existing


def _read_inputs(*, account_ids: list[int], first: date) -> _ChunkInputs:
    days = usage_reads.month_days(first)
    tariffs = ChunkTariffs(account_ids, days[0], days[-1])
    meter_usages = usage_reads.meter_usage_for_accounts(
        account_ids=account_ids,
        first=first,
        rates_for_day=tariffs.rates_on,
        time_of_use_accounts=tariffs.time_of_use_accounts(),
        dynamic_on=tariffs.import_dynamic_on,
        export_dynamic_on=tariffs.export_dynamic_on,
    )
    start, end = (
        day_bounds(days[0], timezone.get_default_timezone())[0],
        day_bounds(days[-1], timezone.get_default_timezone())[1],
    )
    sessions = sessions_for_accounts(account_ids=account_ids, start=start, end=end)
    return _ChunkInputs(days=days, tariffs=tariffs, meter_usages=meter_usages, sessions=sessions)


def _compose_bills(
    *,
    accounts: dict[int, str],
    to_build: list[int],
    first: date,
    inputs: _ChunkInputs,
    existing: _MonthBills,
    issue: bool,
    correcting: Bill | None,
    summary: RunSummary,
) -> tuple[list[tuple[Bill, BillDraft]], list[tuple[Bill, BillDraft]]]:
    """Each account's draft onto its bill row: a new row, or the existing draft's. Returns
    (new bills, regenerated drafts), nothing written yet."""
    days = inputs.days
    day_isos = [(day, day.isoformat()) for day in days]
    now = timezone.now()
    new_pairs: list[tuple[Bill, BillDraft]] = []
    regenerated: list[tuple[Bill, BillDraft]] = []
    for pk in to_build:
        draft = compose(
            account_id=pk,
            days=days,
            tariffs=inputs.tariffs,
            meter_usages=inputs.meter_usages.get(pk, []),
            sessions=inputs.sessions.get(pk, []),
        )
        bill = existing.drafts.get(pk)
        if bill is None:
            corrects = correcting if correcting is not None else existing.latest_void.get(pk)
            bill = Bill(
                number=f"{accounts[pk]}-{first:%Y%m}-{existing.counts[pk] + 1}",
                account_id=pk,
                month=first,
                period_start=days[0],
                period_end=days[-1],
                corrects=corrects,
            )
            new_pairs.append((bill, draft))
        else:
            if correcting is not None:
                bill.corrects = correcting
            regenerated.append((bill, draft))
        fill(bill, draft, day_isos)
        if draft.needs_review:
            summary.flagged += 1
        # A new bill is issued as it is written unless it must first void an issued one.
        if issue and not draft.needs_review and bill.pk is None and pk not in existing.issued:
            bill.state = BillState.ISSUED
            bill.issued_at = now
    return new_pairs, regenerated


def bill_generate_for_month(
    *, account: CustomerAccount, month: date | str, issue: bool = False
) -> tuple[Bill, str]:
    """The account's bill for ``month``: created, or its draft regenerated; an issued bill is
    returned unchanged (it is immutable; correct it with ``bill_correct``). With ``issue`` a
    bill that needs no review is issued. Returns (bill, "created"|"regenerated"|"unchanged")."""
    summary = generate_chunk(account_ids=[account.pk], first=ended_month(month), issue=issue)
    bill, action = summary.bills[0]
    return bill, action


def bills_generate(
    *,
    month: date | str,
    accounts: Iterable[CustomerAccount] | None = None,
    issue: bool = True,
    trigger: str = "command",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[BillRun, RunSummary]:
    """Bills of ``month`` for every account (or ``accounts``), in chunks; idempotent: issued
    bills stay as they are, drafts are regenerated, missing bills are created (and issued when
    ``issue`` and they need no review). ``progress(done, total)`` after each chunk."""
    first = ended_month(month)
    if accounts is None:
        ids = list(CustomerAccount.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted({account.pk for account in accounts})
    run = BillRun.objects.create(
        month=first, trigger=trigger, started_at=timezone.now(), accounts=len(ids)
    )
    total = RunSummary()
    for offset in range(0, len(ids), CHUNK_ACCOUNTS):
        chunk = ids[offset : offset + CHUNK_ACCOUNTS]
        result = generate_chunk(account_ids=chunk, first=first, issue=issue)
        result.bills = []
        total.add(result)
        if progress is not None:
            progress(min(offset + CHUNK_ACCOUNTS, len(ids)), len(ids))
    total.accounts = len(ids)
    for name in ("created", "regenerated", "unchanged", "issued", "flagged"):
        setattr(run, name, getattr(total, name))
    run.finished_at = timezone.now()
    run.save()
    log.info(
        "bills %s: %s accounts, %s created, %s regenerated, %s unchanged, %s issued, %s flagged",
        f"{first:%Y-%m}",
        total.accounts,
        total.created,
        total.regenerated,
        total.unchanged,
        total.issued,
        total.flagged,
    )
    return run, total
