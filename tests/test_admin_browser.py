"""The admin's changelists as staff see them on a 1366 px laptop, in Debian's Chromium: the
money and kWh columns are whole (right-aligned, never wrapped) and the results table fits its
container. Screenshots go to test-results/admin/."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, StaffFactory
from billing import services as billing
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from billing.tests.test_services import daily_readings
from charging.models import Connector, Transaction
from charging.tests.factories import ChargerFactory
from meters.models import Meter
from meters.tests.factories import MeterFactory
from tests.test_dashboard_browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "test-results" / "admin"
LAPTOP = {"width": 1366, "height": 900}


def _seed() -> None:
    """Wide rows: long names, six-figure kWh and money, several connectors."""
    tariff = TariffFactory()
    for n in range(3):
        account = CustomerAccountFactory(
            owner_name=f"Bartholomew-Montgomery Featherstonehaugh-Smythe {n}"
        )
        TariffAssignmentFactory(account=account, tariff=tariff)
        meter = MeterFactory(account=account)
        daily_readings(meter, date(2026, 9, 1), date(2026, 10, 1), Decimal("4321.9876"))
        billing.bill_generate_for_month(account=account, month="2026-09")
        charger = ChargerFactory(
            charge_point_id=f"HOMEGRID-WALLBOX-PULSAR-PLUS-{n:04d}",
            vendor="Wallbox",
            model="Pulsar Plus 22kW",
            firmware_version="5.17.41-release",
        )
        for connector_id, status in ((1, "SuspendedEVSE"), (2, "Available")):
            Connector.objects.create(charger=charger, connector_id=connector_id, status=status)
        started = timezone.now() - timedelta(hours=5)
        Transaction.objects.create(
            charger=charger,
            connector_id=1,
            id_tag="RFID-0123456789ABCDEF",
            authorization_status="Accepted",
            account=account,
            meter_start_wh=0,
            meter_stop_wh=123_456_789,
            energy_kwh=Decimal("123456.789"),
            started_at=started,
            stopped_at=started + timedelta(hours=4),
            stop_reason="EVDisconnected",
        )


def _overflow(page) -> dict:
    return page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const box = table.closest('.results') || table.parentElement;
            const clipped = [...table.querySelectorAll('td, th')].filter(
                cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.className);
            return {table: table.scrollWidth, box: box.clientWidth,
                    page: document.documentElement.scrollWidth, window: window.innerWidth,
                    clipped};
        }"""
    )


@pytest.mark.parametrize(
    ("path", "numbers"),
    [
        ("billing/bill", ["field-consumption_kwh", "field-total"]),
        ("charging/transaction", ["field-energy_kwh"]),
        ("charging/charger", []),
        ("meters/meter", []),
    ],
)
def test_a_changelist_fits_a_laptop_with_its_numbers_whole(
    page, live_server, console_errors, path, numbers
):
    off_loop(_seed)
    staff = off_loop(StaffFactory)
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server.url, staff)

    page.goto(f"{live_server.url}/admin/{path}/")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{path.replace('/', '-')}-1366.png"), full_page=True)

    sizes = _overflow(page)
    assert sizes["table"] <= sizes["box"], sizes
    assert sizes["page"] <= sizes["window"], sizes
    assert sizes["clipped"] == [], sizes
    for column in numbers:
        cell = page.locator(f"#result_list td.{column}").first
        assert cell.evaluate("c => getComputedStyle(c).whiteSpace") == "nowrap", column
        assert cell.evaluate("c => getComputedStyle(c).textAlign") == "right", column
    assert console_errors == []


def test_a_meters_readings_page_fits_a_laptop_and_links_each_reading_to_its_corrections(
    page, live_server, console_errors
):
    """Readings have a page per meter (their composite key has no changelist): on a 1366 px
    laptop it fits, its registers are whole, and a reading's time opens the reading's page."""
    off_loop(_seed)
    staff = off_loop(StaffFactory)
    meter = off_loop(lambda: Meter.objects.order_by("pk").first())
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server.url, staff)

    page.goto(f"{live_server.url}/admin/meters/meter/{meter.pk}/readings/")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "meters-meter-readings-1366.png"), full_page=True)
    sizes = page.evaluate(
        """() => {
            const table = document.querySelector('table.meter-readings');
            const clipped = [...table.querySelectorAll('td, th')].filter(
                cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent);
            return {page: document.documentElement.scrollWidth, window: window.innerWidth,
                    rows: table.querySelectorAll('tbody tr').length, clipped};
        }"""
    )
    assert sizes["page"] <= sizes["window"], sizes
    assert sizes["clipped"] == [], sizes
    assert sizes["rows"] > 1, sizes
    register = page.locator("table.meter-readings td.numeric").first
    assert register.evaluate("c => getComputedStyle(c).whiteSpace") == "nowrap"
    assert register.evaluate("c => getComputedStyle(c).textAlign") == "right"

    page.locator("table.meter-readings td.at a").first.click()
    page.wait_for_load_state()
    assert f"/admin/meters/readingcorrection/reading/{meter.meter_id}/" in page.url
    assert page.locator("#content").get_by_text(meter.meter_id).first.is_visible()
    assert console_errors == []
