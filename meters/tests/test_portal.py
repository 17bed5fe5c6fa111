from datetime import UTC, datetime, timedelta

import pytest

from accounts.tests.factories import CustomerAccountFactory
from config.status import collect
from meters import services
from meters.services import ReadingIn

from .factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_meter(customer):
    return MeterFactory(account=customer.customer_accounts.get())


def test_it_lists_only_the_customers_own_meters(client, customer, own_meter):
    other = MeterFactory(account=CustomerAccountFactory())
    client.force_login(customer)
    page = client.get("/meters/").content.decode()
    assert own_meter.meter_id in page and other.meter_id not in page
    assert client.get(f"/meters/{other.meter_id}/").status_code == 404


def test_it_shows_a_meters_consumption_periods(client, customer, own_meter):
    now = datetime.now(UTC)
    now = now.replace(minute=now.minute // 30 * 30, second=0, microsecond=0)
    services.reading_ingest_bulk(
        items=[
            ReadingIn(
                meter_id=own_meter.meter_id,
                at=now - timedelta(minutes=30 * i),
                import_kwh=100 - i,
            )
            for i in range(4)
        ],
        source="api",
    )
    client.force_login(customer)
    page = client.get(f"/meters/{own_meter.meter_id}/").content.decode()
    assert "Last half-hour" in page and "1.000 kWh" in page
    assert "Latest reading: <strong>100.0000 kWh</strong>" in page


def test_it_puts_the_customers_meters_on_the_home_page(client, customer, own_meter):
    client.force_login(customer)
    page = client.get("/").content.decode()
    assert "Your meters" in page and f"/meters/{own_meter.meter_id}/" in page


def test_it_reports_meters_on_the_status_page(client, staff, own_meter):
    client.force_login(staff)
    services.reading_record(
        meter=own_meter, at=datetime(2026, 1, 5, tzinfo=UTC), import_kwh=1, source="api"
    )
    section = collect()["sections"]["meters"]
    assert section == {
        "meters": 1,
        "readings": 1,
        "last_reading_at": "2026-01-05T00:00:00+00:00",
        "reception": "open",
    }
