"""A reading stored while a customer watches appears on their dashboard over the /ws/live/
websocket: a real daphne on the test database, sharing the Redis channel layer with this test
process, and Debian's Chromium."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from meters import services
from meters.models import MeterKind
from meters.tests.factories import MeterFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _off_loop(function, *args, **kwargs):
    """Writes whose after-commit push calls async_to_sync must not run in this thread, where
    Playwright's event loop is running."""

    def run():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def test_a_reading_stored_during_the_visit_appears_live(
    page, daphne_server, customer, console_errors
):
    meter = MeterFactory(account=customer.customer_accounts.get(), kind=MeterKind.LIVE)
    first_at = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    _off_loop(
        services.reading_record,
        meter=meter,
        at=first_at,
        import_kwh=Decimal("100"),
        power_w=500.0,
        source="mqtt",
    )
    page.goto(f"{daphne_server.url}/login/")
    page.get_by_label("Email address").fill(customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{daphne_server.url}/")

    # Polling once an hour: only the websocket can bring the new reading within the test.
    page.goto(f"{daphne_server.url}/dashboard/{meter.meter_id}/?poll=3600")
    wrap = page.locator("#chart-wrap")
    expect(wrap).to_have_attribute("data-points", "1")
    expect(wrap).to_have_attribute("data-socket", "open")
    page.wait_for_load_state("networkidle")

    _off_loop(
        services.reading_record,
        meter=meter,
        at=first_at + timedelta(seconds=60),
        import_kwh=Decimal("100.01"),
        power_w=600.0,
        source="mqtt",
    )

    expect(wrap).to_have_attribute("data-points", "2")
    expect(wrap).to_have_class("chart-wrap flash")
    expect(page.locator("#live-state")).to_contain_text("Live · last reading")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    assert console_errors == []
