"""Portal pages: a customer's bills, one bill, its PDF; and the home-page panel."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

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
    return render(request, "billing/bill_detail.html", {"bill": bill, "chart": chart})


@login_required
def bill_pdf(request, number: str):
    bill = _bill(request, number)
    response = HttpResponse(pdf.invoice_pdf(bill), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bill-{bill.number}.pdf"'
    return response


def home_panel_context(request) -> dict | None:
    """The customer's latest bill on the home page (nothing for staff and analysts)."""
    user = request.user
    if not user.is_authenticated or not user.is_customer:
        return None
    latest = selectors.bills_for_user(user=user).first()
    return {"latest": latest}
