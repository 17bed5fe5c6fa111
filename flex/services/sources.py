"""What the planner reads from the other apps, each through that app's public selectors.

Prices come from ``billing.selectors.half_hour_prices`` (per kWh in pounds, VAT included for
import; export is outside VAT) and are handed to the planner in pence per kWh.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from accounts.models import CustomerAccount
from billing import selectors as billing_selectors
from charging import selectors as charging_selectors
from charging.models import Charger
from meters import selectors as meters_selectors

PENCE = Decimal(100)


def prices_pence(
    *, account: CustomerAccount, start: datetime, end: datetime, direction: str = "import"
) -> list[Decimal | None]:
    """Each half-hour's price in [start, end), pence per kWh (import: VAT included); None where
    the feed has none."""
    prices = billing_selectors.half_hour_prices(
        account=account, start=start, end=end, direction=direction
    )
    return [None if p.value_inc_vat is None else p.value_inc_vat * PENCE for p in prices]


def house_power_w(*, account: CustomerAccount, now: datetime | None = None) -> int | None:
    """What the household draws now by its live meters (W), or None when no live meter has
    said so within ``FLEX_LIVE_POWER_MAX_AGE_SECONDS``."""
    max_age = timedelta(seconds=settings.FLEX_LIVE_POWER_MAX_AGE_SECONDS)
    return meters_selectors.live_power_w(account=account, max_age=max_age, now=now)


def charger_power_w(*, charger: Charger) -> int:
    """What the charger draws now, by its last MeterValues (W); 0 when unknown."""
    return charging_selectors.charger_live_power_w(charger=charger)


def vehicle_soc_pct(*, charger: Charger, connector_id: int) -> Decimal | None:
    """The car's last reported state of charge (MeterValues measurand SoC), if it reports one."""
    return charging_selectors.vehicle_soc_latest(charger=charger, connector_id=connector_id)
