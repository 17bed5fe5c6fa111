"""The mail of a bill issued (registered with notifications in apps.py): a short note and the
PDF invoice attached."""

from notifications.registry import MailParts

from . import pdf, selectors
from .models import Bill


def bill_issued_mail(payload: dict) -> MailParts:
    bill = (
        Bill.objects.select_related("account", "corrects")
        .prefetch_related("lines", "reads")
        .get(number=payload["number"])
    )
    balance = selectors.bill_balance(bill=bill)
    lines = [
        f"Your bill {bill.number} for {bill.month:%B %Y} is attached.",
        f"Total: {pdf.money_text(bill.currency, bill.total)}.",
    ]
    if bill.corrects_id:
        lines.append(f"It replaces bill {bill.corrects.number}.")
    if balance is not None:
        lines.append(
            f"Your balance after this bill: {pdf.balance_text(bill.currency, balance.after)}."
        )
    return MailParts(
        subject=f"Your HomeGrid bill {bill.number}",
        body="\n".join(lines),
        attachments=[(f"bill-{bill.number}.pdf", pdf.invoice_pdf(bill), "application/pdf")],
    )
