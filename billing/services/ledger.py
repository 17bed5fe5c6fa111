"""The account ledger's writes: bills enter it when issued (``bills_issued``, called by every
issue path), a voided bill's debit is reversed (``bill_voided``), and staff record payments,
refunds and goodwill credits (``ledger_entry_record``).

A correction enters as the difference it makes: its total less what its chain of bills (the
bills it corrects, and theirs) has put on the ledger so far. So a correction of an issued bill
adds (or takes off) the difference, and one that replaces a bill voided earlier (whose debit
was reversed then) enters at its whole total. The balance is always the sum of the issued
bills of the account's months, less its credits.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import CustomerAccount, User
from config.exceptions import Conflict, InvalidInput
from config.inputs import InputError, earliest_datetime, text_check, to_decimal

from ..models import MONEY_DIGITS, MONEY_PLACES, Bill, BillState, EntryKind, LedgerEntry
from ..models import PaymentMethod as Method
from . import announcements
from .money import ZERO

STAFF_KINDS = (EntryKind.PAYMENT, EntryKind.REFUND, EntryKind.GOODWILL)
# The sign a staff-recorded amount (always given positive) takes on the ledger.
_SIGN = {EntryKind.PAYMENT: -1, EntryKind.REFUND: 1, EntryKind.GOODWILL: -1}


def _chain_nets(bill_ids: Iterable[int]) -> dict[int, Decimal]:
    """For each bill: what it and the bills it corrects (all the way back) have put on the
    ledger."""
    chains = {pk: [pk] for pk in bill_ids}
    frontier = {pk: pk for pk in chains}  # the chain's oldest bill so far -> the chain
    while frontier:
        parents = Bill.objects.filter(pk__in=frontier, corrects__isnull=False)
        nxt = {}
        for pk, parent in parents.values_list("pk", "corrects_id"):
            chains[frontier[pk]].append(parent)
            nxt[parent] = frontier[pk]
        frontier = nxt
    every = {pk for chain in chains.values() for pk in chain}
    sums = dict(
        LedgerEntry.objects.filter(bill_id__in=every)
        .values("bill_id")
        .annotate(total=Sum("amount"))
        .values_list("bill_id", "total")
    )
    return {pk: sum((sums.get(a, ZERO) for a in chain), ZERO) for pk, chain in chains.items()}


def _posted_on(bill: Bill) -> date:
    return timezone.localtime(bill.issued_at or timezone.now()).date()


def bills_issued(*, bills: list[Bill]) -> int:
    """Put just-issued bills on their accounts' ledgers (idempotent: a bill enters once) and
    announce them (mail with the PDF, webhooks) after commit. Returns the entries made."""
    bills = [bill for bill in bills if bill.state == BillState.ISSUED]
    if not bills:
        return 0
    nets = _chain_nets(bill.corrects_id for bill in bills if bill.corrects_id)
    entries = []
    for bill in bills:
        correcting = bill.corrects_id is not None
        entries.append(
            LedgerEntry(
                account_id=bill.account_id,
                kind=EntryKind.CORRECTION if correcting else EntryKind.BILL,
                posted_on=_posted_on(bill),
                amount=bill.total - nets.get(bill.corrects_id, ZERO) if correcting else bill.total,
                currency=bill.currency,
                reference=bill.number,
                description=f"Bill {bill.number} for {bill.month:%B %Y}",
                bill_id=bill.pk,
                idempotency_key=f"bill:{bill.pk}",
            )
        )
    made = LedgerEntry.objects.bulk_create(entries, ignore_conflicts=True, batch_size=2000)
    announcements.bills_announce(bill_ids=[bill.pk for bill in bills])
    return len(made)


def bill_voided(*, bill: Bill) -> LedgerEntry | None:
    """Reverse what a voided bill's chain had put on the ledger (nothing for a draft, which
    never entered it). A correction's issue voids the bill it replaces without this: the
    correction enters as the difference instead."""
    if not LedgerEntry.objects.filter(bill=bill).exists():
        return None
    net = _chain_nets([bill.pk])[bill.pk]
    entry, _ = LedgerEntry.objects.get_or_create(
        idempotency_key=f"void:{bill.pk}",
        defaults={
            "account_id": bill.account_id,
            "kind": EntryKind.BILL_VOID,
            "posted_on": timezone.localtime(bill.voided_at or timezone.now()).date(),
            "amount": -net,
            "currency": bill.currency,
            "reference": bill.number,
            "description": f"Bill {bill.number} voided: {bill.void_reason}"[:200],
            "bill": bill,
            "created_by": bill.voided_by,
        },
    )
    return entry


@dataclass(frozen=True)
class EntryIn:
    """A staff-recorded movement: ``amount`` is given positive whatever the kind."""

    kind: str
    amount: Decimal | str
    posted_on: date
    reference: str
    description: str = ""
    method: str = ""


def entry_input_check(entry: EntryIn) -> dict:
    """The one validator of a staff-recorded entry, for every door (admin, API, import, run):
    returns the clean values or raises InvalidInput naming each field and its rule."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    if entry.kind not in STAFF_KINDS:
        errors["kind"] = [f"Must be one of {', '.join(STAFF_KINDS)}."]
    try:
        amount = to_decimal(entry.amount, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
        if amount <= 0:
            raise InputError("not_positive", "Must be more than zero (the kind gives the sign).")
        clean["amount"] = amount
    except InputError as exc:
        errors["amount"] = [exc.message]
    today = timezone.localdate()
    if not isinstance(entry.posted_on, date):
        errors["posted_on"] = ["A date is required."]
    elif entry.posted_on < earliest_datetime().date():
        errors["posted_on"] = [f"Must not be before {earliest_datetime():%Y-%m-%d}."]
    elif entry.posted_on > today + timedelta(days=1):
        errors["posted_on"] = ["Must not be in the future."]
    for name, limit, required in (("reference", 100, True), ("description", 200, False)):
        value = (getattr(entry, name) or "").strip()
        try:
            text_check(value)
        except InputError as exc:
            errors[name] = [exc.message]
            continue
        if required and not value:
            errors[name] = ["Required: what the customer or the bank will recognise."]
        elif len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
        clean[name] = value
    if entry.method and entry.method not in Method.values:
        errors["method"] = [f"Must be one of {', '.join(Method.values)}."]
    if errors:
        raise InvalidInput(errors)
    return clean | {"kind": entry.kind, "posted_on": entry.posted_on, "method": entry.method}


@transaction.atomic
def ledger_entry_record(
    *,
    account: CustomerAccount,
    entry: EntryIn,
    by: User | None = None,
    idempotency_key: str | None = None,
) -> tuple[LedgerEntry, bool]:
    """A payment, refund or goodwill credit on the account. With ``idempotency_key`` the same
    request again returns the entry it made (created False); the key with other values is a
    Conflict that changes nothing. A payment announces itself after commit."""
    values = entry_input_check(entry)
    amount = _SIGN[values["kind"]] * values.pop("amount")
    key = idempotency_key or f"{values['kind']}:{uuid.uuid4()}"
    existing = LedgerEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if (existing.account_id, existing.kind, existing.amount) != (
            account.pk,
            values["kind"],
            amount,
        ):
            raise Conflict(f"idempotency_key {key!r} was used for another entry.")
        return existing, False
    made = LedgerEntry.objects.create(
        account=account, amount=amount, idempotency_key=key, created_by=by, **values
    )
    if made.kind == EntryKind.PAYMENT:
        announcements.payment_announce(entry=made)
    return made, True


def payment_record(
    *,
    account: CustomerAccount,
    amount: Decimal | str,
    paid_on: date,
    reference: str,
    method: str = Method.BANK_TRANSFER,
    by: User | None = None,
    idempotency_key: str | None = None,
) -> tuple[LedgerEntry, bool]:
    entry = EntryIn(
        kind=EntryKind.PAYMENT,
        amount=amount,
        posted_on=paid_on,
        reference=reference,
        method=method,
        description=f"Payment received ({Method(method).label.lower()})"
        if method in Method.values
        else "",
    )
    return ledger_entry_record(account=account, entry=entry, by=by, idempotency_key=idempotency_key)
