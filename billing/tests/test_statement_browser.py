"""A customer reads their balance and statement in a real Chromium, follows a bill, downloads
the statement PDF, and chooses their email notifications on the profile page."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import PASSWORD
from billing import services
from billing.tests.factories import TariffAssignmentFactory
from billing.tests.test_services import daily_readings
from meters.tests.factories import MeterFactory
from notifications.selectors import mail_kinds_wanted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_customer_reads_their_statement_and_downloads_it(
    page, live_server, customer, console_errors
):
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account)
    daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 10, 1), 10)
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    paid = bill.total + Decimal("5.00")  # overpaid: a credit carried forward
    services.payment_record(
        account=account, amount=paid, paid_on=timezone.localdate(), reference="FPS OCT"
    )

    log_in(page, live_server, customer)
    assert page.get_by_text("Your balance: £5.00 in credit").is_visible()
    page.get_by_role("link", name="Statement").click()

    assert page.locator("#balance").inner_text() == "Balance: £5.00 in credit"
    rows = page.get_by_role("table", name="Statement entries, newest first").locator("tbody tr")
    assert rows.count() == 2
    assert "FPS OCT" in rows.nth(0).inner_text() and "-£" in rows.nth(0).inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    with open(download.value.path(), "rb") as document:
        assert document.read(4) == b"%PDF"

    rows.nth(1).get_by_role("link", name=bill.number).click()
    account_table = page.get_by_role("table", name="Your account balance")
    assert "Balance brought forward" in account_table.inner_text()
    assert f"£{bill.total}" in account_table.inner_text()
    assert console_errors == []


def test_a_customer_turns_off_the_bill_mail_on_their_profile(page, live_server, customer):
    log_in(page, live_server, customer)
    page.goto(f"{live_server.url}/profile/")
    page.get_by_label("Bill issued").uncheck()
    page.get_by_role("button", name="Save email choices").click()

    assert page.get_by_text("Your email choices are saved.").is_visible()
    assert not page.get_by_label("Bill issued").is_checked()
    assert page.get_by_label("Payment received").is_checked()
    assert "bill_issued" not in mail_kinds_wanted(user=customer)
