"""Prices from the billing app when it is installed: the dashboards show a cost beside energy.
Without billing, or for an account without a tariff, there is no cost (None) and the pages
leave it out."""

from collections.abc import Callable
from decimal import Decimal

from django.apps import apps
from django.utils import timezone

from accounts.models import CustomerAccount

Pricer = Callable[[Decimal | float | None], str | None]


def _no_price(kwh) -> None:
    return None


def pricer(*, account: CustomerAccount) -> Pricer:
    """A function pricing kWh at the account's unit rate in force now (the current band of a
    time-of-use tariff), VAT included, rounded as billing rounds money; a string, or None.
    It is an estimate at today's rate, not the bill: bills price each half-hour in its band."""
    if not apps.is_installed("billing"):
        return _no_price
    from billing import selectors as billing_selectors
    from billing.services import money
    from billing.usage import rate_at

    now = timezone.localtime()
    tariff = billing_selectors.tariff_on(account=account, day=now.date())
    rate = rate_at(tariff.rates.all(), now) if tariff else None
    if rate is None:
        return _no_price
    unit_price = rate.unit_rate * (1 + tariff.vat_rate)

    def price(kwh) -> str | None:
        if kwh is None:
            return None
        return str(money(Decimal(str(kwh)) * unit_price))

    return price
