"""Telling people: a bill issued and a payment received become notifications' events (mail
with the PDF, webhooks), dispatched after commit so issuing never waits for them."""

from notifications.services import event_publish, events_publish

from ..models import Bill, LedgerEntry


def bill_payload(bill: Bill) -> dict:
    return {
        "number": bill.number,
        "account": bill.account.account_number,
        "month": f"{bill.month:%Y-%m}",
        "period_start": bill.period_start,
        "period_end": bill.period_end,
        "currency": bill.currency,
        "total": bill.total,
        "corrects": bill.corrects.number if bill.corrects_id else None,
    }


def bills_announce(*, bill_ids: list[int]) -> None:
    bills = Bill.objects.filter(pk__in=bill_ids).select_related("account", "corrects")
    events_publish(
        kind="bill_issued",
        items=[(bill.account_id, bill_payload(bill)) for bill in bills.iterator(chunk_size=2000)],
    )


def payment_announce(*, entry: LedgerEntry) -> None:
    event_publish(
        "payment_received",
        account=entry.account,
        payload={
            "account": entry.account.account_number,
            "amount": -entry.amount,
            "currency": entry.currency,
            "paid_on": entry.posted_on,
            "reference": entry.reference,
            "message": (
                f"We received your payment of £{-entry.amount:,.2f} on {entry.posted_on:%d %b %Y}"
                f" (reference {entry.reference}). Thank you."
            ),
        },
    )
