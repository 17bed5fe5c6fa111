"""Correcting bills: a draft recomputed in place, an issued bill replaced by a linked
correction."""

from config.exceptions import Conflict

from ..models import Bill, BillState
from .runs import bill_generate_for_month, generate_chunk


def bill_regenerate_draft(*, bill: Bill) -> Bill:
    """Recompute a draft from the current readings and tariffs."""
    if bill.state != BillState.DRAFT:
        raise Conflict(f"Bill {bill.number} is {bill.state}; only a draft can be regenerated.")
    regenerated, _ = bill_generate_for_month(account=bill.account, month=bill.month)
    return regenerated


def bill_correct(*, bill: Bill) -> Bill:
    """A draft correction of an issued bill, recomputed from the current data and linked to it.
    The issued bill stays valid until the correction is issued (bill_issue voids it then)."""
    if bill.state != BillState.ISSUED:
        raise Conflict(f"Bill {bill.number} is {bill.state}; only an issued bill is corrected.")
    summary = generate_chunk(
        account_ids=[bill.account_id], first=bill.month, issue=False, correcting=bill
    )
    return summary.bills[0][0]
