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
    bills = [
        (bill, selectors.bill_state_for(bill=bill, user=request.user))
        for bill in selectors.bills_for_user(user=request.user)[:240]
    ]
    return render(request, "billing/bill_list.html", {"bills": bills})


# The daily-usage chart's drawing box (SVG user units; it scales to the page's width).
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM, CHART_TOP = 600, 180, 44, 20, 10


def usage_chart(daily_usage: list) -> dict | None:
    """The bill's kWh per local day as SVG bars, drawn on the server: the data are a month's
    fixed figures, so the page needs no script to show them and prints as it looks. None when
    the bill stored no daily usage."""
    days = [(date.fromisoformat(day), float(kwh)) for day, kwh in daily_usage]
    if not days:
        return None
    peak = max(kwh for _, kwh in days) or 1.0
    plot_width = CHART_WIDTH - CHART_LEFT - 4
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = plot_width / len(days)
    bars = []
    for index, (day, kwh) in enumerate(days):
        height = max(kwh, 0.0) / peak * plot_height
        x = CHART_LEFT + index * slot
        bars.append(
            {
                "x": round(x + slot * 0.1, 2),
                "y": round(CHART_TOP + plot_height - height, 2),
                "width": round(slot * 0.8, 2),
                "height": round(height, 2),
                "label_x": round(x + slot / 2, 2),
                "labelled": index == 0 or day.day % 5 == 0,
                "day": day,
                "kwh": f"{kwh:.2f}",
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - 4,
        "top": CHART_TOP,
        "base": CHART_TOP + plot_height,
        "label_y": CHART_HEIGHT - 4,
        "peak": f"{peak:.1f}",
        "bars": bars,
        "total": f"{sum(kwh for _, kwh in days):.2f}",
    }


@login_required
def bill_detail(request, number: str):
    bill = _bill(request, number)
    payment = selectors.bill_payment_details(bill=bill)
    context = {
        "bill": bill,
        "state": selectors.bill_state_for(bill=bill, user=request.user),
        "lines": pdf.line_texts(bill),
        "vat_label": pdf.vat_label(bill),
        "chart": usage_chart(bill.daily_usage),
        "balance": selectors.bill_balance(bill=bill),
        "payment": payment,
        "payment_lines": pdf.payment_lines(bill, payment),
        "supplier": pdf.supplier_lines(),
    }
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
        "latest_state": selectors.bill_state_for(bill=latest, user=user) if latest else None,
        "balance_text": None if balance is None else pdf.balance_text("GBP", balance),
    }
