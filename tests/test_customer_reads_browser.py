"""The meter page's read form as a customer uses it, in a real Chromium (Debian's, driven by
Playwright): a read stored and listed, and a read lower than the last refused beside its field."""

import zoneinfo
from datetime import datetime
from decimal import Decimal

import pytest

from accounts.tests.factories import PASSWORD, CustomerAccountFactory, UserFactory
from meters.models import CustomerRead, Reading, ReadingQuality
from meters.services import reading_record
from meters.tests.factories import MeterFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.fixture
def customer_meter():
    user = UserFactory()
    meter = MeterFactory(account=CustomerAccountFactory(users=[user]))
    reading_record(
        meter=meter, at=datetime(2026, 11, 3, tzinfo=LONDON), import_kwh="12345.6", source="api"
    )
    return user, meter


def _open_meter_page(page, live_server, user, meter) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/meters/{meter.meter_id}/")


def _submit_read(page, kwh: str) -> None:
    """A read at 08:30 on 20 November 2026 (London)."""
    page.get_by_label("Date read").fill("2026-11-20")
    page.get_by_label("Time read").select_option("08:30")
    page.get_by_label("Meter reading (kWh)").fill(kwh)
    page.get_by_role("button", name="Submit reading").click()


def test_a_customer_submits_a_read_and_sees_it(page, live_server, console_errors, customer_meter):
    user, meter = customer_meter
    _open_meter_page(page, live_server, user, meter)

    _submit_read(page, "12401.5")

    assert page.get_by_role("status").filter(has_text="12,401.5 kWh").is_visible()
    row = page.locator("#customer-reads tbody tr")
    assert row.count() == 1 and "Accepted" in row.inner_text()
    stored = Reading.objects.get(meter=meter, at=datetime(2026, 11, 20, 8, 30, tzinfo=LONDON))
    assert (stored.import_kwh, stored.quality) == (Decimal("12401.5"), ReadingQuality.CUSTOMER)
    assert console_errors == []


def test_a_read_lower_than_the_last_is_refused_beside_the_reading(
    page, live_server, customer_meter
):
    user, meter = customer_meter
    _open_meter_page(page, live_server, user, meter)

    _submit_read(page, "12000")

    refusal = page.get_by_role("alert").filter(has_text="lower than your last reading of 12,345.6")
    assert refusal.is_visible() and "did your meter change?" in refusal.inner_text()
    assert page.get_by_label("Meter reading (kWh)").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Meter reading (kWh)").input_value() == "12000"
    assert Reading.objects.filter(meter=meter).count() == 1
    assert not CustomerRead.objects.exists()
