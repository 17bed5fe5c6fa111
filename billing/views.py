"""Portal pages: a customer's bills, one bill, its PDF, the account statement; and the
home-page panel."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from accounts import selectors as account_selectors
from config.exceptions import NotFound

from . import pdf, selectors


def _bill(request, number: str):
    try:
        return selectors.bill_for_user(user=request.user, number=number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
def bill_list(request):
    bills = selectors.bills_for_user(user=request.user)[:240]
    return render(request, "billing/bill_list.html", {"bills": bills})


@login_required
def bill_detail(request, number: str):
    bill = _bill(request, number)
    peak = max((float(kwh) for _, kwh in bill.daily_usage), default=0.0) or 1.0
    chart = [(day, kwh, round(float(kwh) / peak * 100)) for day, kwh in bill.daily_usage]
    context = {"bill": bill, "chart": chart, "balance": selectors.bill_balance(bill=bill)}
    return render(request, "billing/bill_detail.html", context)


@login_required
def bill_pdf(request, number: str):
    bill = _bill(request, number)
    response = HttpResponse(pdf.invoice_pdf(bill), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bill-{bill.number}.pdf"'
    return response


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _statement(request, account_number: str | None):
    """The statement of the named account, or of the user's first one; 404 for an account
    that is not theirs."""
    accounts = account_selectors.accounts_for_user(user=request.user)
    account = (
        accounts.filter(account_number=account_number).first()
        if account_number
        else accounts.first()
    )
    if account is None:
        raise Http404("No account to show a statement of.")
    start, end = _day(request.GET.get("from")), _day(request.GET.get("to"))
    return accounts, selectors.statement(account=account, start=start, end=end)


@login_required
def statement(request):
    accounts, found = _statement(request, request.GET.get("account"))
    context = {
        "statement": found,
        "accounts": accounts if accounts.count() > 1 else None,
        "lines": [
            (
                line.entry,
                pdf.money_text(line.entry.currency, line.entry.amount),
                pdf.balance_text(line.entry.currency, line.balance),
            )
            for line in reversed(found.lines)
        ],
        "balance_text": pdf.balance_text("GBP", found.closing),
        "opening_text": pdf.balance_text("GBP", found.opening),
        "query": request.GET.urlencode(),
    }
    return render(request, "billing/statement.html", context)


@login_required
def statement_pdf(request):
    _, found = _statement(request, request.GET.get("account"))
    response = HttpResponse(pdf.statement_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{found.account.account_number}.pdf"'
    )
    return response


def home_panel_context(request) -> dict | None:
    """The customer's latest bill on the home page (nothing for staff and analysts)."""
    user = request.user
    if not user.is_authenticated or not user.is_customer:
        return None
    latest = selectors.bills_for_user(user=user).first()
    account = account_selectors.accounts_for_user(user=user).first()
    balance = selectors.account_balance(account=account) if account else None
    return {
        "latest": latest,
        "balance_text": None if balance is None else pdf.balance_text("GBP", balance),
    }
