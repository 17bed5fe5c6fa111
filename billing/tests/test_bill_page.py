"""The customer's bill (issue #20): what a customer and staff read of a bill flagged for review,
the VAT row's wording, the due date, payment and supplier details on the page and the PDF, and
the daily-usage chart's data."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Bill, DirectDebitMandate
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from billing.tests.test_export_credit import pdf_text
from billing.tests.test_services import daily_readings
from billing.views import CHART_BOTTOM, CHART_HEIGHT, CHART_TOP, usage_chart
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(customer):
    """September 2026 on the flat factory tariff (28p/kWh, 52p/day, 5 % VAT), 10 kWh a day."""
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account, tariff=TariffFactory())
    daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 10, 1), 10)
    return account


@pytest.fixture
def bill(account) -> Bill:
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    return bill


def page_text(client, name: str, *args) -> str:
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_a_customer_never_reads_the_review_flag_and_staff_do(client, customer, staff, bill):
    Bill.objects.filter(pk=bill.pk).update(needs_review=True)

    client.force_login(customer)
    for text in (
        page_text(client, "billing:list"),
        page_text(client, "billing:detail", bill.number),
        page_text(client, "home"),
    ):
        assert "needs review" not in text.lower()
    assert "Issued" in page_text(client, "billing:detail", bill.number)
    download = client.get(reverse("billing:pdf", args=[bill.number])).content
    assert "review" not in pdf_text(download).lower()

    client.force_login(staff)
    assert "Issued (needs review)" in page_text(client, "billing:detail", bill.number)
    assert "Issued (needs review)" in page_text(client, "billing:list")


def test_the_vat_row_says_its_rate_and_the_amount_it_is_on(client, customer, bill):
    # 300 kWh at 28p (£84.00) + 30 days at 52p (£15.60): VAT at 5 % on £99.60 is £4.98.
    assert (bill.subtotal, bill.vat) == (Decimal("99.60"), Decimal("4.98"))
    client.force_login(customer)

    page = page_text(client, "billing:detail", bill.number)
    rows = [row.split("</tr>")[0] for row in page.split("<tr>")[1:]]
    rows = [row for row in rows if "VAT" in row]
    assert (
        len(rows) == 2
    )  # the line and the total's row and all("VAT at 5 % on £99.60" in row for row in rows)
    assert all("GBP" not in row and "0.05" not in row for row in rows)
    text = pdf_text(client.get(reverse("billing:pdf", args=[bill.number])).content)
    assert "VAT at 5 % on £99.60" in text
    assert "0.05" not in text and "99.6 GBP" not in text


def test_the_pdf_and_the_page_say_when_and_how_to_pay_and_who_the_supplier_is(
    client, customer, account, bill, settings
):
    settings.BILLING_PAYMENT_TERMS_DAYS = 10
    settings.BILLING_SUPPLIER_NAME = "Brightwater Power Ltd"
    settings.BILLING_SUPPLIER_PHONE = "0161 496 0000"
    settings.BILLING_COMPANY_NUMBER = "12345678"
    settings.BILLING_BANK_SORT_CODE = "40-11-62"
    due = timezone.localdate(bill.issued_at) + timedelta(days=10)
    client.force_login(customer)

    text = pdf_text(client.get(reverse("billing:pdf", args=[bill.number])).content)
    assert f"Payment due by {due:%d %b %Y}." in text
    assert f"sort code 40-11-62, account {settings.BILLING_BANK_ACCOUNT}" in text
    assert f"reference {account.account_number}" in text
    assert "Brightwater Power Ltd" in text and "0161 496 0000" in text and "12345678" in text
    assert "Direct Debit" not in text

    page = page_text(client, "billing:detail", bill.number)
    assert f"Payment due by {due:%d %b %Y}." in page
    assert f"reference {account.account_number}" in page
    assert "Brightwater Power Ltd" in page

    DirectDebitMandate.objects.create(account=account, reference="DD-HG-0042")
    text = pdf_text(client.get(reverse("billing:pdf", args=[bill.number])).content)
    assert "Direct Debit (mandate DD-HG-0042)" in text
    DirectDebitMandate.objects.filter(account=account).update(active=False)
    assert "Direct Debit" not in page_text(client, "billing:detail", bill.number)


def test_a_draft_has_no_due_date(client, staff, account):
    draft, _ = services.bill_generate_for_month(account=account, month="2026-09")
    client.force_login(staff)
    assert "Payment due" not in page_text(client, "billing:detail", draft.number)
    assert "Payment due" not in pdf_text(
        client.get(reverse("billing:pdf", args=[draft.number])).content
    )


def test_the_page_draws_a_bar_for_each_day_with_a_table_of_the_same_figures(client, customer, bill):
    client.force_login(customer)
    page = page_text(client, "billing:detail", bill.number)

    assert len(bill.daily_usage) == 30
    assert page.count('<rect class="bar"') == len(bill.daily_usage)
    table = page.split('aria-label="Daily usage in kWh"')[1].split("</table>")[0]
    assert table.count("<tr><td>") == len(bill.daily_usage)
    for day, kwh in bill.daily_usage:
        shown = date.fromisoformat(day)
        assert f"<td>{shown:%a} {shown.day} {shown:%b %Y}</td><td>{float(kwh):.2f}</td>" in table
    assert "Tue 1 Sep 2026" in table


def test_the_chart_scales_bars_to_the_highest_day():
    chart = usage_chart([["2026-09-01", "2.0"], ["2026-09-02", "4.0"], ["2026-09-03", "0"]])
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    assert [bar["height"] for bar in chart["bars"]] == [plot / 2, plot, 0]
    assert [bar["y"] + bar["height"] for bar in chart["bars"]] == [chart["base"]] * 3
    assert chart["peak"] == "4.0" and chart["total"] == "6.00"
    assert usage_chart([]) is None


def csv_of(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_the_api_shows_the_review_flag_to_staff_only(api, customer, staff, bill):
    Bill.objects.filter(pk=bill.pk).update(needs_review=True)

    api.as_user(customer)
    listed = api.get("/api/v1/bills").json()["results"]
    assert [row["number"] for row in listed] == [bill.number]
    assert "needs_review" not in listed[0]
    assert "needs_review" not in api.get(f"/api/v1/bills/{bill.number}").json()
    csv_text = csv_of(api.get("/api/v1/bills/export.csv"))
    assert "needs_review" not in csv_text and "True" not in csv_text
    assert bill.number in csv_text

    api.as_user(staff)
    assert api.get(f"/api/v1/bills/{bill.number}").json()["needs_review"] is True
    assert api.get("/api/v1/bills").json()["results"][0]["needs_review"] is True
    header, row = csv_of(api.get("/api/v1/bills/export.csv")).splitlines()[:2]
    assert header.split(",").index("needs_review") == row.split(",").index("True")
