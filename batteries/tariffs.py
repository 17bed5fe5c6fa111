"""Which tariff window (cheap, standard or peak) a battery's account is in at a given time.

Tariffs belong to the billing app; this is the batteries app's one door to them. None means "no
tariff information" (the account has no tariff then), and a rule with a tariff-window condition
then does not hold: a battery is never forced to charge or discharge on a guess.
"""

from datetime import datetime

from billing.selectors import tariff_window_at as billing_window_at

from .models import Battery


def tariff_window_at(*, battery: Battery, at: datetime) -> str | None:
    """``"cheap"``, ``"standard"``, ``"peak"``, or None when the account has no tariff then."""
    return billing_window_at(account=battery.account, at=at)
