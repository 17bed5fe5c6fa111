"""The ledger's doors: the API (scoped by role), the portal's statement page and PDFs, the
admin, and the import_payments command."""

import re
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory
from billing import pdf, selectors, services
from billing.models import BankStatementLine, DirectDebitMandate, LedgerEntry
from billing.tests.factories import TariffAssignmentFactory
from billing.tests.test_export_credit import pdf_text
from billing.tests.test_services import daily_readings
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(customer):
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account)
    daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 11, 1), 10)
    return account


@pytest.fixture
def billed(account):
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    services.payment_record(
        account=account, amount="30", paid_on=timezone.localdate(), reference="FPS 1"
    )
    return bill


def test_it_shows_a_customer_their_balance_and_statement_and_nobody_else(
    api, customer, analyst, account, billed
):
    number = account.account_number
    client = api.as_user(customer)
    balance = client.get(f"/api/v1/accounts/{number}/balance").json()
    assert balance == {
        "account": number,
        "currency": "GBP",
        "balance": str(billed.total - 30),
        "state": "owed",
    }
    statement = client.get(f"/api/v1/accounts/{number}/statement").json()
    assert [e["kind"] for e in statement["entries"]] == ["bill", "payment"]
    assert statement["entries"][0]["bill"] == billed.number
    assert statement["closing"] == balance["balance"] == statement["entries"][-1]["balance"]
    document = client.get(f"/api/v1/accounts/{number}/statement.pdf")
    assert document["Content-Type"] == "application/pdf"
    assert "FPS 1" in pdf_text(document.content)

    other = CustomerAccountFactory()
    assert client.get(f"/api/v1/accounts/{other.account_number}/balance").status_code == 404
    assert api.as_user(analyst).get(f"/api/v1/accounts/{number}/statement").status_code == 403
    refused = client.post(
        f"/api/v1/accounts/{number}/ledger",
        {"kind": "goodwill", "amount": "100", "posted_on": "2026-10-01", "reference": "me"},
        format="json",
    )
    assert refused.status_code == 403 and not LedgerEntry.objects.filter(kind="goodwill")


def test_it_lets_staff_record_a_payment_once_per_key(api, staff, account):
    client = api.as_user(staff)
    body = {
        "kind": "payment",
        "amount": "25.50",
        "posted_on": timezone.localdate().isoformat(),
        "reference": "Cheque 000123",
        "method": "cheque",
        "idempotency_key": "till-7",
    }
    url = f"/api/v1/accounts/{account.account_number}/ledger"
    first = client.post(url, body, format="json")
    again = client.post(url, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["amount"] == "-25.50" == again.json()["amount"]
    bad = client.post(url, body | {"amount": "0", "idempotency_key": "x"}, format="json")
    assert bad.status_code == 400 and "amount" in bad.json()["fields"]
    assert selectors.account_balance(account=account) == Decimal("-25.50")


def test_it_imports_a_statement_through_the_api_and_staff_match_the_rest(api, staff, account):
    client = api.as_user(staff)
    text = (
        "Date,Amount,Reference\n"
        f"2026-11-02,10.00,{account.account_number}\n"
        "2026-11-02,7.00,MYSTERY\n"
    ).encode()
    upload = SimpleUploadedFile("nov.csv", text, content_type="text/csv")
    made = client.post("/api/v1/payments/bank-statements", {"file": upload}, format="multipart")
    assert made.status_code == 201
    assert (made.json()["matched"], made.json()["unmatched"]) == (1, 1)
    unmatched = client.get("/api/v1/payments/unmatched").json()["results"]
    assert [row["reference"] for row in unmatched] == ["MYSTERY"]

    matched = client.post(
        f"/api/v1/payments/unmatched/{unmatched[0]['id']}/match",
        {"account": account.account_number},
        format="json",
    )
    assert matched.status_code == 200 and matched.json()["status"] == "matched"
    assert selectors.account_balance(account=account) == Decimal("-17.00")
    again = SimpleUploadedFile("nov.csv", text, content_type="text/csv")
    repeat = client.post("/api/v1/payments/bank-statements", {"file": again}, format="multipart")
    assert repeat.json()["duplicates"] == 2
    assert selectors.account_balance(account=account) == Decimal("-17.00")


def test_it_runs_direct_debits_through_the_api(api, staff, account, billed):
    DirectDebitMandate.objects.create(account=account, reference="DD-77")
    client = api.as_user(staff)
    today = timezone.localdate().isoformat()
    run = client.post("/api/v1/direct-debits/runs", {"collection_date": today}, format="json")
    assert run.status_code == 201 and run.json()["items"] == 1
    csv_text = b"".join(client.get(f"/api/v1/direct-debits/runs/{run.json()['id']}.csv"))
    due = billed.total - 30
    assert csv_text.decode().splitlines()[1] == (
        f"{account.account_number},DD-77,{due:.2f},GBP,{today}"
    )
    collected = client.post(f"/api/v1/direct-debits/runs/{run.json()['id']}/collected")
    assert collected.status_code == 200 and collected.json()["collected_at"]
    assert selectors.account_balance(account=account) == 0


def test_it_prints_the_balance_brought_forward_and_after_on_the_bill(client, customer, billed):
    october, _ = services.bill_generate_for_month(
        account=billed.account, month="2026-10", issue=True
    )
    text = pdf_text(pdf.invoice_pdf(october))
    brought = billed.total - 30
    assert f"Balance brought forward\n£{brought:,.2f} owed" in text
    assert f"Balance after this bill\n£{brought + october.total:,.2f} owed" in text

    client.force_login(customer)
    page = client.get(reverse("billing:detail", args=[october.number])).content.decode()
    assert f"£{brought}" in page and f"£{brought + october.total}" in page


def test_it_shows_the_statement_page_with_the_balance(client, customer, account, billed):
    client.force_login(customer)
    page = client.get(reverse("billing:statement")).content.decode()
    assert f"Balance: £{billed.total - 30:,.2f} owed" in page
    assert billed.number in page and "FPS 1" in page
    document = client.get(reverse("billing:statement-pdf"))
    assert document["Content-Type"] == "application/pdf"
    other = CustomerAccountFactory()
    assert (
        client.get(reverse("billing:statement"), {"account": other.account_number}).status_code
        == 404
    )


def test_it_imports_payments_from_the_command_twice(tmp_path, account):
    path = tmp_path / "statement.csv"
    path.write_text(f"Date,Amount,Reference\n2026-11-02,10.00,{account.account_number}\nX,1,Y\n")
    first, second = StringIO(), StringIO()
    call_command("import_payments", str(path), stdout=first)
    call_command("import_payments", str(path), stdout=second)
    assert "1 matched, 0 unmatched, 1 unreadable, 0 already imported" in first.getvalue()
    assert "0 matched, 0 unmatched, 0 unreadable, 2 already imported" in second.getvalue()
    assert BankStatementLine.objects.count() == 2


def test_it_lets_staff_record_a_payment_in_the_admin(client, staff, account):
    client.force_login(staff)
    response = client.post(
        reverse("admin:billing_ledgerentry_add"),
        {
            "account": account.pk,
            "kind": "payment",
            "amount": "12.00",
            "posted_on": timezone.localdate().isoformat(),
            "reference": "Counter",
            "description": "",
            "method": "card",
        },
    )
    assert response.status_code == 302, re.findall(
        r"errorlist[^<]*<li>([^<]*)", response.content.decode()
    )
    assert LedgerEntry.objects.get().amount == Decimal("-12.00")
    unmatched = client.get(reverse("admin:billing_bankstatementline_changelist"))
    assert unmatched.status_code == 200
