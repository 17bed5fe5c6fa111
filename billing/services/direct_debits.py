"""Direct-debit collection runs: the amounts due from every account with an active mandate,
as a plain CSV for the bank (its own formats are out of scope), then the payments once the
bank has collected them."""

from datetime import date

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from config.exceptions import Conflict, InvalidInput

from ..models import DirectDebitItem, DirectDebitMandate, DirectDebitRun, LedgerEntry
from ..models import PaymentMethod as Method
from .ledger import payment_record


@transaction.atomic
def direct_debit_run_create(
    *, collection_date: date, by: User | None = None
) -> tuple[DirectDebitRun, bool]:
    """The run for ``collection_date``: each active mandate's account whose balance (entries up
    to today) is owed. Made once: asking again for the same date returns the same run."""
    if collection_date < timezone.localdate():
        raise InvalidInput({"collection_date": ["Must be today or later."]})
    run, created = DirectDebitRun.objects.get_or_create(
        collection_date=collection_date, defaults={"created_by": by}
    )
    if not created:
        return run, False
    mandates = dict(
        DirectDebitMandate.objects.filter(active=True).values_list("account_id", "reference")
    )
    balances = (
        LedgerEntry.objects.filter(account_id__in=mandates, posted_on__lte=timezone.localdate())
        .values("account_id")
        .annotate(balance=Sum("amount"))
        .filter(balance__gt=0)
        .values_list("account_id", "balance")
    )
    DirectDebitItem.objects.bulk_create(
        [
            DirectDebitItem(run=run, account_id=pk, mandate_reference=mandates[pk], amount=balance)
            for pk, balance in balances
        ],
        batch_size=2000,
    )
    return run, True


@transaction.atomic
def direct_debit_run_collected(*, run: DirectDebitRun, by: User | None = None) -> int:
    """The bank collected the run: each item becomes a payment on its account (once, however
    often this is called). Returns the payments made."""
    run = DirectDebitRun.objects.select_for_update().get(pk=run.pk)
    if run.collection_date > timezone.localdate():
        raise Conflict(f"The run collects on {run.collection_date}; it cannot be collected yet.")
    made = 0
    for item in run.items.select_related("account").filter(entry__isnull=True):
        entry, created = payment_record(
            account=item.account,
            amount=item.amount,
            paid_on=run.collection_date,
            reference=item.mandate_reference,
            method=Method.DIRECT_DEBIT,
            by=by,
            idempotency_key=f"dd:{run.pk}:{item.account_id}",
        )
        item.entry = entry
        item.save(update_fields=["entry"])
        made += created
    run.collected_at = run.collected_at or timezone.now()
    run.save(update_fields=["collected_at"])
    return made
