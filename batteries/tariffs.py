"""Which tariff window (cheap or peak) a battery's account is in at a given time.

Tariffs belong to the billing app, which does not publish time-of-use windows yet. Until it does,
this answers None ("no tariff information"), and a rule with a tariff-window condition does not
hold: a battery is never forced to charge or discharge on a guess. When billing grows a selector
for the current window, this function is the one place to call it.
"""

from datetime import datetime

from .models import Battery


def tariff_window_at(*, battery: Battery, at: datetime) -> str | None:
    """``"cheap"``, ``"peak"``, or None when nothing is known about the account's tariff."""
    return None
