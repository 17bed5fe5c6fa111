"""What a household draws now by its live meters: the door other apps (the flex planner's load
management) read it through."""

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import CustomerAccount
from config.exceptions import NotFound

from ..models import Meter, MeterKind
from .readings import reading_latest


def live_power_w(
    *, account: CustomerAccount, max_age: timedelta, now: datetime | None = None
) -> int | None:
    """The sum of the account's live meters' latest power (W), counting only readings newer
    than ``max_age``; None when no live meter has reported a power that recently."""
    fresh_after = (now or timezone.now()) - max_age
    total, seen = 0.0, False
    for meter in Meter.objects.filter(account=account, kind=MeterKind.LIVE):
        try:
            reading = reading_latest(meter=meter)
        except NotFound:
            continue
        if reading.power_w is not None and reading.at >= fresh_after:
            total += reading.power_w
            seen = True
    return round(total) if seen else None
