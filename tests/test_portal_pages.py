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


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (("0", "2", "1", "*", "*"), "02:00 on the 1st of each month (Europe/London)"),
        (("30", "0", "*", "*", "*"), "daily at 00:30 (Europe/London)"),
        (("17", "3", "*", "*", "1"), "03:17 every Monday (Europe/London)"),
        (("5", "*", "*", "*", "*"), "hourly at :05"),
        (("0", "2", "22", "*", "*"), "02:00 on the 22nd of each month (Europe/London)"),
        (("0", "2", "11", "*", "*"), "02:00 on the 11th of each month (Europe/London)"),
        (("0", "2", "1", "1", "*"), "cron 0 2 1 1 * (Europe/London)"),  # yearly: the fields
        (("*/5", "*", "*", "*", "*"), "cron */5 * * * * (Europe/London)"),
    ],
)
def test_ops_names_cron_schedules_in_words(fields, words):
    from portal.operations import describe_cron

    assert describe_cron(*fields) == words


def test_ops_shows_a_pass_as_a_local_time_and_a_duration_not_a_dictionary():
    from portal.operations import facts

    rows = dict(
        facts(
            {
                "last_monitoring_pass": {
                    "at": "2026-07-01T08:35:36.250454+00:00",
                    "seconds": 0.0491,
                },
                "by_status": {},
            }
        )
    )
    assert rows["Last monitoring pass"] == "1 Jul 2026 09:35:36, took 0.05 s"
    assert rows["By status"] == "none"


def test_ops_counts_devices_as_the_admin_does(client, staff):
    from meters.telemetry.models import Device

    Device.objects.create(topic="tele/a/SENSOR", online=True)
    Device.objects.create(topic="tele/b/SENSOR", online=False)
    client.force_login(staff)
    page = client.get("/ops/").content.decode()
    assert "Devices: 2 (1 online, 1 offline by their last will, 2 unassigned" in page
    assert ".250454" not in page and "+00:00" not in page
