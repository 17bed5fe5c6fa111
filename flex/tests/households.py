"""A household on an agile-style tariff, for the flex tests: prices of 3 and 4 December 2026
(GMT, so local days are UTC days), in pounds per kWh before 5 % VAT:

- 3 Dec: 16:00-19:00 at 40p (the peak), 19:00-24:00 at 25p, earlier 20p;
- 4 Dec: 00:00-04:00 at 5p (8 half-hours), 04:00-07:00 at 20p, then 30p.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from billing.tests.factories import TariffAssignmentFactory, agile_tariff, half_hour_rates_store

NOW = datetime(2026, 12, 3, 16, 10, tzinfo=UTC)
CHEAP_FROM = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)


def day_rates(day: date) -> list[Decimal]:
    if day == date(2026, 12, 3):
        return [Decimal("0.20")] * 32 + [Decimal("0.40")] * 6 + [Decimal("0.25")] * 10
    return [Decimal("0.05")] * 8 + [Decimal("0.20")] * 6 + [Decimal("0.30")] * 34


def agile_household(*, user=None):
    """An account (with a customer login) on the agile tariff with both days' rates."""
    user = user or UserFactory()
    account = CustomerAccountFactory(users=[user])
    tariff = agile_tariff()
    TariffAssignmentFactory(account=account, tariff=tariff)
    for day in (date(2026, 12, 3), date(2026, 12, 4)):
        half_hour_rates_store(tariff=tariff, day=day, values=day_rates(day))
    return account
