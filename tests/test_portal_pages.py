"""Each role finds its pages, errors are pages in the site's style, and an offline charger's last
report is not shown as its state (issue #20)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from charging.models import Connector, Transaction
from charging.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db

CUSTOMER_PAGES = {
    "Energy": "/dashboard/",
    "Bills": "/billing/",
    "Charger": "/charging/",
    "Battery": "/batteries/",
}


def _nav(client) -> str:
    page = client.get("/").content.decode()
    return page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]


def test_each_role_sees_its_own_pages_in_the_navigation(client, customer, analyst, staff):
    client.force_login(customer)
    nav = _nav(client)
    for label, href in CUSTOMER_PAGES.items():
        assert f'href="{href}">{label}<' in nav
    assert "/analyst/" not in nav and "/ops/" not in nav and "/admin/" not in nav

    client.force_login(analyst)
    nav = _nav(client)
    assert 'href="/analyst/">Analysis<' in nav
    assert "/billing/" not in nav and "/ops/" not in nav

    client.force_login(staff)
    nav = _nav(client)
    assert 'href="/ops/">Operations<' in nav and 'href="/admin/">Admin<' in nav
    assert "/billing/" not in nav


def test_the_home_pages_link_staff_to_operations_and_analysts_to_analysis(client, analyst, staff):
    client.force_login(staff)
    main = client.get("/").content.decode().split('<main id="main"', 1)[1]
    assert 'href="/ops/"' in main
    client.force_login(analyst)
    main = client.get("/").content.decode().split('<main id="main"', 1)[1]
    assert 'href="/analyst/"' in main


def test_a_missing_page_is_a_404_page_that_says_what_to_do(client, customer):
    client.force_login(customer)
    answer = client.get("/billing/NO-SUCH-BILL/")
    assert answer.status_code == 404
    page = answer.content.decode()
    assert "We can't find that page" in page and "Go to your home page" in page
    assert "/billing/NO-SUCH-BILL/" in page and 'aria-label="Main"' in page


def test_a_forbidden_page_is_a_403_page_in_the_sites_style(client, customer):
    client.force_login(customer)
    answer = client.get(reverse("dashboard:ops"))
    assert answer.status_code == 403
    page = answer.content.decode()
    assert "You can't open this page" in page and 'aria-label="Main"' in page


@override_settings(ROOT_URLCONF="tests.urls_raising")
def test_a_server_error_is_a_500_page_that_says_nothing_was_lost():
    client = Client(raise_request_exception=False)
    answer = client.get("/boom")
    assert answer.status_code == 500
    page = answer.content.decode()
    assert "Something went wrong on our side" in page and "nothing you entered was lost" in page


def test_an_offline_charger_shows_no_live_power_and_no_stop_button(client, customer):
    account = customer.customer_accounts.get()
    charger = ChargerFactory(charge_point_id="HOME-OFF", account=account, connected=False)
    Connector.objects.create(
        charger=charger,
        connector_id=1,
        status="Charging",
        live_power_w=7200,
        status_at=timezone.now() - timedelta(minutes=5),
    )
    Transaction.objects.create(
        charger=charger,
        connector_id=1,
        id_tag="MYCARD",
        account=account,
        authorization_status="Accepted",
        meter_start_wh=0,
        started_at=timezone.now() - timedelta(hours=1),
    )
    client.force_login(customer)
    detail = client.get(f"/charging/{charger.pk}/").content.decode()
    assert "7200 W" not in detail and "Stop charging" not in detail
    assert "Unknown while offline" in detail and "went offline during session" in detail
    listing = client.get("/charging/").content.decode()
    assert "7200 W" not in listing and "unknown while the charger is offline" in listing
    home = client.get("/").content.decode()
    assert "Charging now on" not in home and "went offline during a session" in home

    Charger = type(charger)
    Charger.objects.filter(pk=charger.pk).update(connected=True)
    detail = client.get(f"/charging/{charger.pk}/").content.decode()
    assert "7200 W" in detail and "Stop charging" in detail


def test_a_live_meter_shows_its_last_half_hour_after_six_minutes_of_readings(client, customer):
    from meters.models import MeterKind, ReadingSource
    from meters.tests.factories import MeterFactory, ReadingFactory

    meter = MeterFactory(account=customer.customer_accounts.get(), kind=MeterKind.LIVE)
    now = timezone.now()
    for n in range(36):  # ten-second readings over the last six minutes, 0.001 kWh apart
        ReadingFactory(
            meter=meter,
            at=now - timedelta(seconds=10 * (36 - n)),
            source=ReadingSource.MQTT,
            import_kwh=Decimal("100") + Decimal(n) / 1000,
        )
    client.force_login(customer)
    page = client.get(f"/meters/{meter.meter_id}/").content.decode()
    row = page.split("Last half-hour", 1)[1].split("</tr>", 1)[0]
    assert "0.035 kWh" in row and "so far" in row and "Not enough readings" not in row
