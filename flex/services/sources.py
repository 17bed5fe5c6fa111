"""What the planner reads from the other apps, each behind one small function so that a missing
public door is one place to change (README, "The planner": the selectors the lead may add).

Prices come from ``billing.selectors.half_hour_prices`` (per kWh in pounds, VAT included for
import; export is outside VAT) and are handed to the planner in pence per kWh.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from accounts.models import CustomerAccount
from billing import selectors as billing_selectors
from charging.models import Charger, Connector, MeterValue
from config.exceptions import NotFound
from meters import selectors as meters_selectors
from meters.models import Meter, MeterKind

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
    said so recently. (Wanted in meters.selectors: ``live_power_w(*, account, max_age)``.)"""
    now = now or timezone.now()
    fresh_after = now - timedelta(seconds=settings.FLEX_LIVE_POWER_MAX_AGE_SECONDS)
    total, seen = 0.0, False
    for meter in Meter.objects.filter(account=account, kind=MeterKind.LIVE):
        try:
            reading = meters_selectors.reading_latest(meter=meter)
        except NotFound:
            continue
        if reading.power_w is not None and reading.at >= fresh_after:
            total += reading.power_w
            seen = True
    return round(total) if seen else None


def charger_power_w(*, charger: Charger) -> int:
    """What the charger draws now, by its last MeterValues (W); 0 when unknown. (Wanted in
    charging.selectors: ``charger_live_power_w(*, charger)``.)"""
    powers = Connector.objects.filter(charger=charger, live_power_w__isnull=False)
    return round(sum(c.live_power_w for c in powers))


def vehicle_soc_pct(*, charger: Charger, connector_id: int) -> Decimal | None:
    """The car's last reported state of charge (MeterValues measurand SoC), if it reports one.
    (Wanted in charging.selectors: ``vehicle_soc_latest(*, charger, connector_id)``.)"""
    sample = (
        MeterValue.objects.filter(
            charger=charger, connector_id=connector_id, measurand="SoC", numeric__isnull=False
        )
        .order_by("-sampled_at", "-pk")
        .first()
    )
    return None if sample is None else sample.numeric
