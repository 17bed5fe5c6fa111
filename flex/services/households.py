"""A household's headroom: its import limit less what the house draws, half-hour by half-hour,
and less what the household's EV plans already take (so the battery never plans into the EV's
headroom). The EV plans first (the customer's goal), the battery in what is left.

The house's load ahead is not known: the next hour is taken as what the live meters say now
(without the charger's own draw), or ``FLEX_DEFAULT_HOUSE_LOAD_W`` if that is more or the meters
say nothing; later half-hours as ``FLEX_DEFAULT_HOUSE_LOAD_W``. The beat re-plans every few
minutes, so a house that starts drawing more gets a plan that leaves it room.
"""

from django.conf import settings
from django.db import transaction

from accounts.models import CustomerAccount
from config.exceptions import InvalidInput
from meters.timeutils import HALF_HOUR

from ..models import ChargingPlan, Household
from . import sources
from .horizon import Horizon

LIVE_SLOTS = 2


def import_limit_w(account: CustomerAccount | None) -> int:
    if account is None:
        return settings.FLEX_DEFAULT_IMPORT_LIMIT_W
    household = Household.objects.filter(account=account).first()
    return household.import_limit_w if household else settings.FLEX_DEFAULT_IMPORT_LIMIT_W


def house_load_w(
    *, account: CustomerAccount | None, horizon: Horizon, own_power_w: int = 0
) -> list[int]:
    """The forecast house load (W) of each slot, without ``own_power_w`` (the device being
    planned, which the live meter also sees)."""
    default = settings.FLEX_DEFAULT_HOUSE_LOAD_W
    live = None if account is None else sources.house_power_w(account=account, now=horizon.now)
    near = default if live is None else max(live - own_power_w, default)
    return [near if slot < LIVE_SLOTS else default for slot in range(horizon.slots)]


def house_headroom_w(
    *, account: CustomerAccount | None, horizon: Horizon, own_power_w: int = 0
) -> list[int]:
    limit = import_limit_w(account)
    loads = house_load_w(account=account, horizon=horizon, own_power_w=own_power_w)
    return [max(limit - load, 0) for load in loads]


def ev_planned_power_w(*, account: CustomerAccount, horizon: Horizon) -> list[int]:
    """What the household's chargers' latest plans draw in each slot of ``horizon`` (W)."""
    total = [0] * horizon.slots
    plans = ChargingPlan.objects.filter(goal__charger__account=account)
    latest = {}
    for plan in plans.order_by("goal_id", "-created_at", "-pk"):
        latest.setdefault(plan.goal_id, plan)
    for plan in latest.values():
        for index, power in enumerate(plan.power_w):
            slot = int((plan.starts_at + index * HALF_HOUR - horizon.starts_at) / HALF_HOUR)
            if 0 <= slot < horizon.slots:
                total[slot] += power
    return total


@transaction.atomic
def household_set(*, account: CustomerAccount, import_limit_w) -> Household:
    """Set what the household may import at once (its fuse or agreed capacity, 1-100 kW); the
    beat's next re-plan plans its devices in the new headroom."""
    if isinstance(import_limit_w, bool) or not str(import_limit_w).isdigit():
        raise InvalidInput({"import_limit_w": ["A whole number of W is required."]})
    if not 1000 <= int(import_limit_w) <= 100_000:
        raise InvalidInput({"import_limit_w": ["Must be 1000 to 100000 W."]})
    household, _ = Household.objects.update_or_create(
        account=account, defaults={"import_limit_w": int(import_limit_w)}
    )
    return household
