"""A smart-charged session on a customer's agile bill in a real Chromium (issue #17): its line
says what it cost at the half-hours' rates and what smart charging saved, readable on a 390 px
phone (the long line wraps inside the table, nothing past the screen's edge)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.tests.factories import TariffAssignmentFactory, agile_tariff
from billing.tests.test_services import half_hourly
from billing.tests.test_session_pricing import FEB, GOAL, _at, feed_february, smart_session
from billing.tests.test_statement_browser import log_in
from charging.tests.factories import ChargerFactory
from flex import services as flex_services
from meters.tests.factories import MeterFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_the_bill_page_shows_a_sessions_cost_and_saving_on_a_phone(
    page, live_server, customer, console_errors
):
    account = customer.customer_accounts.get()
    half_hourly(MeterFactory(account=account), FEB, date(2026, 3, 1), per_half_hour=Decimal("0.5"))
    tariff = agile_tariff(name="Agile")
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_february(tariff)
    charger = ChargerFactory(account=account)
    flex_services.goal_set(charger=charger, now=_at(10, 17), **GOAL)
    session = smart_session(charger)
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)

    page.set_viewport_size(PHONE)
    log_in(page, live_server, customer)
    page.goto(live_server.url + reverse("billing:detail", args=[bill.number]))

    row = page.locator("tr", has_text=f"Charging session #{session.pk}").first
    assert row.is_visible()
    assert "smart charging saved £3.17 inc VAT against charging on plug-in" in row.inner_text()
    assert row.locator("td").last.inner_text() == "£0.59"
    past_the_edge = page.evaluate(
        "[...document.querySelectorAll('main *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30))"
    )
    assert past_the_edge == []
    assert console_errors == []
