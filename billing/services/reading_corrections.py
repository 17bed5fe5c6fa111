"""Bills after a stored reading was corrected (meters.services.corrections tells billing).

The change's span (start, end] is where the meter's energy changed; every local month of the
meter that the span touches is billed again from the corrected readings: the account's issued
bill of that month gets a draft correction (``bill_correct``, for staff to review and issue),
a draft is regenerated in place (``bill_regenerate_draft``). A month with no bill yet needs
nothing: its first bill will read the corrected data. Registered in ``BillingConfig.ready``.
"""

from datetime import date

from meters.timeutils import interval_day, local_day

from ..models import Bill, BillState
from .corrections import bill_correct, bill_regenerate_draft
from .periods import next_month

CORRECTION_DRAFTED = "correction drafted"
DRAFT_REGENERATED = "draft regenerated"


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def bills_rebill_for_reading_change(*, change) -> list[dict]:
    """``change``: a meters.services.ReadingChange. Returns what was done to which bill:
    ``[{"number", "month", "action", "corrects", "difference"}]`` (the last two for a
    correction: the issued bill's number, and the correction's total minus it)."""
    meter, tz = change.meter, change.meter.tz
    if change.start < change.end:
        # The first interval that changed starts at ``start``; the last ends at ``end``.
        first, last = local_day(change.start, tz), interval_day(change.end, tz)
    else:  # a lone reading: the days either side of it
        first, last = interval_day(change.at, tz), local_day(change.at, tz)
    touched = []
    for month in _months(first, last):
        bills = Bill.objects.filter(
            account_id=meter.account_id,
            month=month,
            state__in=[BillState.DRAFT, BillState.ISSUED],
        )
        by_state = {bill.state: bill for bill in bills}
        issued, draft = by_state.get(BillState.ISSUED), by_state.get(BillState.DRAFT)
        if issued is not None:
            correction = bill_correct(bill=issued)
            touched.append(
                {
                    "number": correction.number,
                    "month": month.isoformat(),
                    "action": CORRECTION_DRAFTED,
                    "corrects": issued.number,
                    "difference": str(correction.total - issued.total),
                }
            )
        elif draft is not None:
            regenerated = bill_regenerate_draft(bill=draft)
            touched.append(
                {
                    "number": regenerated.number,
                    "month": month.isoformat(),
                    "action": DRAFT_REGENERATED,
                }
            )
    return touched
