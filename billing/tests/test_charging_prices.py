"""Charging sessions (from the charging app's transactions) priced on the month's bill."""

from datetime import date
from decimal import Decimal

import pytest

from billing import services
from billing.models import LineKind
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from charging import services as charging
from charging.tests.factories import ChargerFactory, IdTagFactory

pytestmark = pytest.mark.django_db


def session(charger, tag, start: str, stop: str, samples: list[tuple[str, int]], wh: tuple):
    started = charging.transaction_start(
        charger=charger, connector_id=1, id_tag=tag.id_tag, meter_start=wh[0], timestamp=start
    ).transaction
    charging.meter_values_record(
        charger=charger,
        connector_id=1,
        transaction_id=started.pk,
        meter_value=[
            {"timestamp": at, "sampled_value": [{"value": str(value)}]} for at, value in samples
        ],
    )
    charging.transaction_stop(
        charger=charger, transaction_id=started.pk, meter_stop=wh[1], timestamp=stop
    )
    return started


@pytest.fixture
def account(customer):
    return customer.customer_accounts.get()


def test_it_prices_charging_sessions_per_kwh_session_and_idle_minute(account):
    tariff = TariffFactory(
        charging_rate_per_kwh=Decimal("0.25"),
        charging_fee_per_session=Decimal("1.00"),
        charging_idle_fee_per_minute=Decimal("0.10"),
    )
    TariffAssignmentFactory(account=account, tariff=tariff)
    charger, tag = ChargerFactory(account=account), IdTagFactory(account=account)
    september = session(
        charger,
        tag,
        "2026-09-10T18:00:00Z",
        "2026-09-10T19:40:00Z",
        [
            ("2026-09-10T18:30:00Z", 4000),
            ("2026-09-10T19:00:00Z", 12000),
            ("2026-09-10T19:30:00Z", 12000),
        ],
        (1000, 12000),
    )
    # Stops (local time) on 1 October: October's bill, not September's.
    session(charger, tag, "2026-09-30T22:00:00Z", "2026-09-30T23:30:00Z", [], (12000, 15000))

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    charged = [
        (line.charging_transaction_id, line.quantity, line.unit, line.amount)
        for line in bill.lines.filter(kind=LineKind.CHARGING)
    ]
    assert charged == [
        (september.pk, Decimal("11.0000"), "kWh", Decimal("2.75")),
        (september.pk, Decimal("1.0000"), "session", Decimal("1.00")),
        (september.pk, Decimal("40.0000"), "minute", Decimal("4.00")),
    ]
    # Standing charge 15.60 + charging 7.75 = 23.35; VAT 1.17.
    assert (bill.subtotal, bill.vat, bill.total) == (
        Decimal("23.35"),
        Decimal("1.17"),
        Decimal("24.52"),
    )
    october, _ = services.bill_generate_for_month(account=account, month=date(2026, 10, 1))
    assert october.lines.filter(kind=LineKind.CHARGING, quantity=Decimal(3)).count() == 1


def test_it_flags_a_session_when_the_tariff_has_no_charging_price(account):
    TariffAssignmentFactory(account=account, tariff=TariffFactory())
    charger, tag = ChargerFactory(account=account), IdTagFactory(account=account)
    session(charger, tag, "2026-09-10T18:00:00Z", "2026-09-10T19:00:00Z", [], (0, 5000))

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert bill.needs_review and "no charging price" in bill.notes
    assert not bill.lines.filter(kind=LineKind.CHARGING).exists()
