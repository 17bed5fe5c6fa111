"""Which meters a user may see, and a meter's own calendar."""

from datetime import date, datetime

from django.db.models import (
    QuerySet,
)

from accounts.models import User
from accounts.permissions import scope_to_user
from config.exceptions import NotFound
from meters.authentication import MeterDevice
from meters.models import Meter
from meters.timeutils import (
    local_day,
    local_midnight,
)


def meters_for_user(*, user: "User | MeterDevice") -> QuerySet[Meter]:
    """Staff: every meter; customers: their accounts' meters; a meter key: its meter; anyone
    else: none."""
    meters = Meter.objects.select_related("account")
    if isinstance(user, MeterDevice):
        return meters.filter(pk=user.meter_id)
    return scope_to_user(meters, user)


def meter_for_user(*, user: User, meter_id: str) -> Meter:
    """The meter with this public id if the user may see it; otherwise NotFound (404, not 403,
    so nobody learns which meter ids exist)."""
    meter = meters_for_user(user=user).filter(meter_id=meter_id).first()
    if meter is None:
        raise NotFound(f"No meter {meter_id!r}.")
    return meter


def meter_local_day(*, meter: Meter, at: datetime) -> date:
    """The day ``at`` falls on in the meter's own time zone."""
    return local_day(at, meter.tz)


def meter_local_midnight(*, meter: Meter, day: date) -> datetime:
    """The start of ``day`` in the meter's own time zone."""
    return local_midnight(day, meter.tz)


def meter_first_reading_at(*, meter: Meter) -> datetime | None:
    return meter.readings.order_by("at").values_list("at", flat=True).first()
