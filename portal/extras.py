"""Prices from the billing app when it is installed (its public selector for the unit price,
its one VAT and rounding rule): the dashboards show a cost beside energy. Without billing, or for an
account without a tariff, there is no cost (None) and the pages leave it out."""

from collections.abc import Callable
from decimal import Decimal

from django.apps import apps

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
    from billing.services import price_inc_vat

    rate = billing_selectors.unit_rate_now(account=account)
    if rate is None:
        return _no_price

    def price(kwh) -> str | None:
        if kwh is None:
            return None
        net = Decimal(str(kwh)) * rate.unit_rate
        return str(price_inc_vat(net=net, vat_rate=rate.vat_rate))

    return price
