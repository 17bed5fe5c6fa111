"""A customer's bill page in a real Chromium (issue #20): the daily-usage chart draws a bar per
day, the table fallback holds the same days, the due date and how to pay are shown, and the page
fits a 390 px phone with no console error."""

from datetime import date

import pytest
from django.urls import reverse

from billing import services
from billing.tests.factories import TariffAssignmentFactory
from billing.tests.test_services import daily_readings
from billing.tests.test_statement_browser import log_in
from meters.tests.factories import MeterFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_bill_page_draws_the_daily_usage_chart(
    page, live_server, customer, console_errors, viewport
):
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account)
    daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 10, 1), 10)
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)

    page.set_viewport_size(viewport)
    log_in(page, live_server, customer)
    page.goto(live_server.url + reverse("billing:detail", args=[bill.number]))

    chart = page.locator("#daily-usage svg")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 80  # drawn, not collapsed
    assert chart.locator("rect.bar").count() == 30
    bar = chart.locator("rect.bar").first.bounding_box()
    assert bar["height"] > 10  # 10 kWh every day: every bar at full height
    assert page.get_by_role("img", name="kWh used each day").count() == 1

    page.get_by_text("Daily usage as a table").click()
    assert page.get_by_role("table", name="Daily usage in kWh").locator("tbody tr").count() == 30
    assert page.locator("#payment").get_by_text("Payment due by").is_visible()
    assert "needs review" not in page.content()
    past_the_edge = page.evaluate(
        "[...document.querySelectorAll('main *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30))"
    )
    assert past_the_edge == []  # every table fits, none only scrolls inside its figure
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert console_errors == []
