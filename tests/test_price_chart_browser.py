"""The dashboard's price chart in Debian's Chromium: today's dynamic prices drawn next to the
energy used, each half-hour's price and cost in the table, and tomorrow without prices yet."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.tests.factories import TariffAssignmentFactory, agile_tariff, half_hour_rates_store
from meters.timeutils import half_hours_in_day
from portal.tests.factories import meter_with_readings
from tests.test_dashboard_browser import DESKTOP, log_in, off_loop, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_draws_todays_prices_and_says_tomorrow_has_none_yet(
    page, live_server, customer, console_errors
):
    account = customer.customer_accounts.get()
    meter = off_loop(meter_with_readings, account=account, days=2, now=timezone.now())
    tariff = off_loop(agile_tariff, vat_rate=Decimal("0.05"))
    off_loop(TariffAssignmentFactory, account=account, tariff=tariff)
    today = timezone.localdate(timezone=meter.tz)
    n = half_hours_in_day(today, meter.tz)
    values = [Decimal("0.10") + Decimal(k) / 100 for k in range(n)]
    off_loop(half_hour_rates_store, tariff=tariff, day=today, values=values)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")

    wrap = page.locator("#prices-wrap")
    expect(wrap).to_have_attribute("data-state", "ready")
    assert page.locator("#prices-chart canvas").count() == 1
    expect(page.locator("#prices-summary")).to_contain_text(f"Today: {n} of {n} half-hours priced")
    expect(page.locator("#prices-summary")).to_contain_text(re.compile(r"used so far, £\d"))
    page.get_by_text("Each half-hour's price, energy and cost").click()
    rows = page.locator("#prices-table tbody tr")
    expect(rows).to_have_count(n)
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("10.50")  # 10p + 5% VAT
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("11.55")
    shoot(page, "price-chart-today")

    page.get_by_label("Tomorrow").check()
    expect(wrap).to_have_attribute("data-state", "empty")
    expect(page.locator("#prices-message")).to_have_text("Tomorrow: no prices yet.")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("not set yet")
    assert console_errors == []
