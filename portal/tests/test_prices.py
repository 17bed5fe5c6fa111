"""The dashboard's price chart door (/dashboard/<meter>/prices.json): today's and tomorrow's
half-hourly prices with VAT, the energy of each half-hour and its cost."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing.tests.factories import (
    TariffAssignmentFactory,
    TariffFactory,
    agile_tariff,
    half_hour_rates_store,
)
from meters import services
from meters.tests.factories import MeterFactory
from meters.timeutils import HALF_HOUR, day_bounds, half_hours_in_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter(customer):
    return MeterFactory(account=customer.customer_accounts.get())


def today_start(meter):
    return day_bounds(timezone.localdate(timezone=meter.tz), meter.tz)


def read_first_half_hours(meter, count: int, kwh=Decimal("0.5")) -> None:
    start, _ = today_start(meter)
    items = [
        services.ReadingIn(meter_id=meter.meter_id, at=start + k * HALF_HOUR, import_kwh=kwh * k)
        for k in range(count + 1)
        if start + k * HALF_HOUR <= timezone.now()
    ]
    services.reading_ingest_bulk(items=items, source="api")


def test_it_gives_todays_feed_prices_energy_and_cost_and_tomorrows_missing_ones(
    client, customer, meter
):
    tariff = agile_tariff(vat_rate=Decimal("0.05"))
    TariffAssignmentFactory(account=meter.account, tariff=tariff)
    today = timezone.localdate(timezone=meter.tz)
    n = half_hours_in_day(today, meter.tz)
    half_hour_rates_store(tariff=tariff, day=today, values=[Decimal("0.20")] * n)
    read_first_half_hours(meter, 2)
    client.force_login(customer)
    answer = client.get(f"/dashboard/{meter.meter_id}/prices.json")
    assert answer.status_code == 200
    today_data, tomorrow = answer.json()["days"]
    assert (today_data["label"], today_data["half_hours"], today_data["priced"]) == ("today", n, n)
    assert set(today_data["price_pence_inc_vat"]) == {21.0}
    start, _ = today_start(meter)
    assert today_data["t"][0] == start.timestamp()
    used = [k for k, kwh in enumerate(today_data["kwh"]) if kwh is not None]
    # The reading at 00:30 closes the first half-hour; at 01:00, the second (if it is that late).
    assert all(today_data["kwh"][k] == 0.5 and today_data["cost"][k] == "0.1050" for k in used)
    assert today_data["total_cost"] == f"{Decimal('0.105') * len(used):.2f}"
    assert tomorrow["label"] == "tomorrow" and tomorrow["priced"] == 0
    assert set(tomorrow["price_pence_inc_vat"]) == {None}
    assert set(tomorrow["cost"]) == {None}


def test_it_prices_a_flat_tariffs_half_hours_at_its_rate(client, customer, meter):
    TariffAssignmentFactory(account=meter.account, tariff=TariffFactory())
    client.force_login(customer)
    days = client.get(f"/dashboard/{meter.meter_id}/prices.json").json()["days"]
    assert {value for day in days for value in day["price_pence_inc_vat"]} == {29.4}


def test_it_answers_no_prices_without_a_tariff_and_404_for_another_customers_meter(
    client, customer, meter
):
    client.force_login(customer)
    days = client.get(f"/dashboard/{meter.meter_id}/prices.json").json()["days"]
    assert [day["priced"] for day in days] == [0, 0]
    stranger = MeterFactory()
    assert client.get(f"/dashboard/{stranger.meter_id}/prices.json").status_code == 404
    client.logout()
    assert client.get(f"/dashboard/{meter.meter_id}/prices.json").status_code == 401


def test_it_links_the_price_door_from_the_dashboard_page(client, customer, meter):
    client.force_login(customer)
    page = client.get(f"/dashboard/{meter.meter_id}/")
    assert f"/dashboard/{meter.meter_id}/prices.json" in page.text
    assert 'id="prices-chart"' in page.text
