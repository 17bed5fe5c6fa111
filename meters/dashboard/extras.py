"""The dashboard's cards from apps that may not be installed or may not have landed yet
(billing's prices, batteries, chargers). Each lookup answers None when its app cannot, so the
dashboard works without them."""

from decimal import Decimal

from django.apps import apps

from accounts.models import CustomerAccount


def energy_cost(*, account: CustomerAccount, kwh: Decimal | None) -> str | None:
    """The cost of ``kwh`` at the account's current tariff (a Decimal as a string), or None when
    billing cannot price it."""
    if kwh is None or not apps.is_installed("billing"):
        return None
    try:
        from billing import selectors as billing_selectors

        price = billing_selectors.energy_cost_for_account
    except (ImportError, AttributeError):
        return None
    cost = price(account=account, kwh=kwh)
    return None if cost is None else str(cost)
