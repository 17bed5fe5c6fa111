"""Prices between the Decimal world of the services and the float arrays of the planner."""

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

SLOT_HOURS = 0.5


def prices_as_array(prices: Sequence[Decimal | None]) -> np.ndarray:
    """Pence per kWh as float64, a missing price as NaN."""
    return np.array([np.nan if p is None else float(p) for p in prices], dtype=np.float64)


def slot_cost(energy_wh: Sequence[int], prices: Sequence[Decimal | None]) -> tuple[Decimal, int]:
    """Exact cost in pence of ``energy_wh`` per slot, and the Wh that fall in unpriced slots (whose
    cost nobody can tell yet)."""
    cost, unpriced = Decimal(0), 0
    for energy, price in zip(energy_wh, prices, strict=True):
        if not energy:
            continue
        if price is None:
            unpriced += energy
        else:
            cost += Decimal(energy) * price / 1000
    return cost, unpriced


def half_hour_energy_wh(power_w: float) -> int:
    """The whole Wh a power reaches in half an hour, never more than it."""
    return int(np.floor(max(power_w, 0.0) * SLOT_HOURS))
