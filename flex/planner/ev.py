"""Smart EV charging: the cheapest half-hours that deliver a goal's energy by its ready-by slot.

The problem is a fractional knapsack: every slot before ``ready_by`` offers up to
``min(charger max power, house headroom) x 0.5 h`` of energy at its price, and the goal needs
``energy_wh``. Filling the cheapest slots first is optimal (an exchange argument: moving a Wh from
a dearer slot into a cheaper one with room left never costs more), so the planner sorts and
fills; ties go to the earlier slot.

Choices, written down:
- A slot without a price (``None``) is treated as dearer than every priced slot: it is used only
  when the priced slots cannot meet the goal, and its energy is reported as ``unpriced_wh``
  (projected cost leaves it out). With a price cap, an unpriced slot is never used: nobody can
  say it is under the cap.
- A price cap is the customer's word: slots above it are not used even if the goal then fails.
- A goal that cannot be met gets the best possible (every usable slot, cheapest first up to the
  need), ``met`` False and the reason that binds first: the charger's power in the time left,
  then the house's import limit, then the price cap (or the missing prices under a cap).
- Power is planned in whole Wh per half-hour, so each slot's power is an even number of W and
  never above the limit.
- Negative prices do not make the planner charge more than the goal: a car takes what it needs.
- A minimum power (``min_power_w``: an OCPP charger cannot charge below about 6 A, 1.4 kW on one
  phase): a half-hour is either 0 or at least the minimum, and one that cannot take the minimum
  (the house leaves too little) is not used. When the cheapest fill leaves its last half-hour
  under the minimum, energy moves into it from the dearest of the full ones (down to their own
  minimum); if they cannot give enough, the last half-hour runs at the minimum and the plan
  delivers a little more than asked (at most the minimum's energy): a car asked for "at least
  30 kWh" takes it, and the alternative is to miss the goal. This is exact when every usable
  half-hour can take the same energy (a charger without a binding house limit: the plan uses
  the fewest cheapest half-hours that can hold the need, each at least the minimum); with
  uneven room it is the best plan on the cheapest half-hours' support, and a property test
  checks it never breaks a constraint.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .prices import SLOT_HOURS, half_hour_energy_wh, prices_as_array, slot_cost

REASONS = {
    "charger_power": "The charger's power cannot deliver the energy in the time before ready-by.",
    "house_limit": "The household's import limit leaves too little headroom before ready-by.",
    "price_cap": "Too few half-hours before ready-by are priced at or under the price cap.",
}


@dataclass(frozen=True)
class EvRequest:
    prices: Sequence[Decimal | None]
    energy_wh: int
    ready_by: int  # slots [0, ready_by) may be used
    max_power_w: int
    headroom_w: Sequence[int] | None = None  # per slot; None: the house sets no limit
    price_cap: Decimal | None = None
    min_power_w: int = 0  # a used half-hour draws at least this
    first_slot_fraction: float = 1.0  # of slot 0 still ahead: its minimum energy scales with it


@dataclass(frozen=True)
class EvPlan:
    power_w: tuple[int, ...]
    energy_wh: tuple[int, ...]
    delivered_wh: int
    needed_wh: int
    cost_pence: Decimal  # priced slots only
    unpriced_wh: int
    met: bool
    reason: str  # a key of REASONS, "" when met

    @property
    def shortfall_wh(self) -> int:
        return self.needed_wh - self.delivered_wh

    @property
    def reason_text(self) -> str:
        return REASONS.get(self.reason, "")


def _slot_capacity_wh(
    max_power_w: np.ndarray,
    headroom_w: np.ndarray,
    ready_by: np.ndarray,
    least_wh: np.ndarray,
    slots: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Wh each slot can take: from the charger alone, and within the house's headroom too; 0
    where that is less than the slot's minimum (the charger would not charge at all)."""
    before = np.arange(slots)[None, :] < ready_by[:, None]
    charger = np.floor(np.maximum(max_power_w, 0)[:, None] * SLOT_HOURS) * before
    charger = np.broadcast_to(charger, (len(ready_by), slots))
    house = np.minimum(charger, np.floor(np.maximum(headroom_w, 0) * SLOT_HOURS))
    return np.where(charger < least_wh, 0.0, charger), np.where(house < least_wh, 0.0, house)


def _lift_to_minimum(sorted_energy: np.ndarray, sorted_least: np.ndarray) -> np.ndarray:
    """The cheapest fill (in price order) with its last, partial slot raised to its minimum:
    the energy comes from the dearest full slots first (each keeps its own minimum), and what
    they cannot give is delivered on top (see the module's docstring)."""
    partial = (sorted_energy > 0) & (sorted_energy < sorted_least)
    deficit = np.where(partial, sorted_least - sorted_energy, 0).sum(axis=1)
    if not deficit.any():
        return sorted_energy
    spare = np.where((sorted_energy > 0) & ~partial, sorted_energy - sorted_least, 0)[:, ::-1]
    before = np.cumsum(spare, axis=1) - spare
    take = np.clip(deficit[:, None] - before, 0, spare)[:, ::-1]
    return np.where(partial, sorted_least, sorted_energy - take)


def plan_ev_fleet(
    *,
    prices: np.ndarray,
    energy_wh: np.ndarray,
    ready_by: np.ndarray,
    max_power_w: np.ndarray,
    headroom_w: np.ndarray | None = None,
    price_cap: np.ndarray | None = None,
    least_wh: np.ndarray | None = None,
    immediate: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Plan N chargers over T slots at once. ``prices`` (N, T) p/kWh with NaN for no price,
    ``energy_wh``, ``ready_by``, ``max_power_w``, ``price_cap`` (NaN: none) of shape (N,),
    ``headroom_w`` (N, T), ``least_wh`` the least energy a used slot takes (N, T; the minimum
    power's half-hour, less in a partial first slot; None: no minimum). Returns the Wh per
    slot (N, T, int64) and a reason code per charger (0 met, 1 charger power, 2 house limit, 3
    price cap). ``immediate``: the "charge now" plan (earliest slots first; prices and the cap
    ignored), the reference a plan's saving is measured against."""
    n, slots = prices.shape
    headroom = np.full((n, slots), np.inf) if headroom_w is None else headroom_w
    cap = np.full(n, np.nan) if price_cap is None else price_cap
    need = np.maximum(energy_wh.astype(np.float64), 0)
    least = np.zeros((n, slots)) if least_wh is None else least_wh.astype(np.float64)
    charger, house = _slot_capacity_wh(
        max_power_w.astype(np.float64), headroom, ready_by, least, slots
    )
    missing = np.isnan(prices)
    has_cap = ~np.isnan(cap) & (not immediate)
    over_cap = has_cap[:, None] & (missing | (prices > np.where(has_cap, cap, 0)[:, None]))
    usable = np.where(over_cap, 0.0, house)
    # Unpriced slots sort after every priced one; the stable sort keeps ties in time order.
    key = np.where(missing, np.inf, prices)
    if immediate:
        key = np.broadcast_to(np.arange(slots), (n, slots))
    order = np.argsort(key, axis=1, kind="stable")
    sorted_room = np.take_along_axis(usable, order, axis=1)
    before = np.cumsum(sorted_room, axis=1) - sorted_room
    sorted_energy = np.clip(need[:, None] - before, 0, sorted_room)
    if least_wh is not None:
        sorted_least = np.take_along_axis(least, order, axis=1)
        sorted_energy = _lift_to_minimum(sorted_energy, sorted_least)
    energy = np.empty_like(sorted_energy)
    np.put_along_axis(energy, order, sorted_energy, axis=1)
    delivered = energy.sum(axis=1)
    reason = np.zeros(n, dtype=np.int8)
    short = delivered < need
    reason[short] = 3
    reason[short & (house.sum(axis=1) < need)] = 2
    reason[short & (charger.sum(axis=1) < need)] = 1
    return energy.astype(np.int64), reason


_REASON_CODES = ("", "charger_power", "house_limit", "price_cap")


def plan_ev(request: EvRequest, *, immediate: bool = False) -> EvPlan:
    """One charger's plan (see the module's docstring for the rules); ``immediate``: the
    "charge now" plan instead."""
    slots = len(request.prices)
    headroom = (
        np.full((1, slots), np.inf)
        if request.headroom_w is None
        else np.array([request.headroom_w], dtype=np.float64)
    )
    cap = np.nan if request.price_cap is None else float(request.price_cap)
    least = None
    # Charging now sends no limit: the car draws what it takes, so no minimum applies.
    if request.min_power_w > 0 and not immediate:
        least = np.full((1, slots), float(half_hour_energy_wh(request.min_power_w)))
        if slots:
            least[0, 0] = np.ceil(least[0, 0] * request.first_slot_fraction)
    energy, reason = plan_ev_fleet(
        prices=prices_as_array(request.prices)[None, :],
        energy_wh=np.array([request.energy_wh]),
        ready_by=np.array([request.ready_by]),
        max_power_w=np.array([request.max_power_w]),
        headroom_w=headroom,
        price_cap=np.array([cap]),
        least_wh=least,
        immediate=immediate,
    )
    energy_wh = tuple(int(e) for e in energy[0])
    cost, unpriced = slot_cost(energy_wh, request.prices)
    needed = max(request.energy_wh, 0)
    return EvPlan(
        power_w=tuple(2 * e for e in energy_wh),
        energy_wh=energy_wh,
        delivered_wh=sum(energy_wh),
        needed_wh=needed,
        cost_pence=cost,
        unpriced_wh=unpriced,
        met=sum(energy_wh) >= needed,
        reason=_REASON_CODES[int(reason[0])],
    )
