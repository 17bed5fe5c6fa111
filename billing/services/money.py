"""Money as billing rounds it: the one place the rounding and the VAT rule live.

Every app that shows a price (the portal's estimates included) uses these, so a price on a page
and the same amount on a bill are the same number of pennies.
"""

from decimal import ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")
KWH = Decimal("0.0001")
ZERO = Decimal(0)


def money(value: Decimal) -> Decimal:
    """Half-up to the minor unit, as every line is rounded."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def vat_on(*, net: Decimal, vat_rate: Decimal) -> Decimal:
    """The VAT on a net amount, rounded as a bill's VAT line is."""
    return money(net * vat_rate)


def price_inc_vat(*, net: Decimal, vat_rate: Decimal) -> Decimal:
    """A net amount with VAT included (net * (1 + vat_rate)), rounded once at the end, as an
    estimate shown to a customer is."""
    return money(net * (1 + vat_rate))
