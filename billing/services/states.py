"""A bill's states: draft -> issued -> void (or draft -> void)."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.exceptions import ApplicationError, Conflict

from ..models import Bill, BillState
from .ledger import bill_voided, bills_issued


@transaction.atomic
def bill_issue(*, bill: Bill) -> Bill:
    """draft -> issued. Issuing a correction voids the bill it corrects in the same
    transaction."""
    bill = Bill.objects.select_for_update().get(pk=bill.pk)
    if bill.state != BillState.DRAFT:
        raise Conflict(f"Bill {bill.number} is {bill.state}; only a draft can be issued.")
    if bill.corrects_id is not None:
        old = Bill.objects.select_for_update().get(pk=bill.corrects_id)
        if old.state == BillState.ISSUED:
            old.state = BillState.VOID
            old.voided_at = timezone.now()
            old.void_reason = f"Replaced by {bill.number}."
            old.save(update_fields=["state", "voided_at", "void_reason", "updated_at"])
    bill.state = BillState.ISSUED
    bill.issued_at = timezone.now()
    bill.save(update_fields=["state", "issued_at", "updated_at"])
    bills_issued(bills=[bill])
    return bill


@transaction.atomic
def bill_void(*, bill: Bill, reason: str, by: User | None = None) -> Bill:
    """Void a draft or an issued bill (with a reason). Generating the month again makes a new
    bill that corrects it."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason: say why the bill is void.", field="reason")
    bill = Bill.objects.select_for_update().get(pk=bill.pk)
    if bill.state == BillState.VOID:
        raise Conflict(f"Bill {bill.number} is already void.")
    bill.state = BillState.VOID
    bill.voided_at = timezone.now()
    bill.void_reason = reason[:200]
    bill.voided_by = by
    bill.save(update_fields=["state", "voided_at", "void_reason", "voided_by", "updated_at"])
    bill_voided(bill=bill)
    return bill
