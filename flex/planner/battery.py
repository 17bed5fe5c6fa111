"""Home batteries: charge in the cheap half-hours, discharge at peak (to the house, and to the grid
when the export rate beats what the stored energy is worth), reach a target SoC by a slot, never
below the reserve, within the unit's power limits and the house's headroom.

The method is dynamic programming over a grid of SoC levels (``levels``, 41 by default: steps of
at most 2.5 % of capacity, sized so full charge power is a whole number of steps), vectorised across a fleet: the cost of a half-hour's move depends on the move
and the slot, not on the SoC it starts from, so each backward step is one shifted array minimum
per move. It is exact on its grid (``tests/test_planner_battery.py`` checks it against every
sequence of moves on small cases); a partial half-hour is planned in whole steps (a 5 kW unit
on 13.5 kWh in steps of 625 W) — the price of a fleet planned in seconds.

Choices, written down:
- The round-trip loss is taken when charging: storing ``x`` Wh takes ``x / efficiency`` Wh from
  the grid, and ``x`` Wh discharged is ``x`` Wh delivered.
- Discharged energy first covers the house's forecast load (worth the import price), the rest is
  exported (worth the export price; nothing without an export tariff or price).
- Energy left at the end of the horizon is worth the horizon's cheapest import price (what it
  would cost to buy again, losses aside, never below zero), so the plan does not empty the unit
  for nothing nor fill it for nothing.
- A slot without an import price is never used for charging unless the target needs it (it is
  priced above every known price); its discharge value is taken as nothing.
- A target that cannot be met gets the highest SoC the limits allow by then; the plan says why.
- A unit already below its reserve may charge but never discharge until it is above it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .prices import SLOT_HOURS, prices_as_array

# What a missing level at the target slot costs the plan (pence): larger than any saving.
_TARGET_PENALTY = 1e7
# How much dearer than the dearest known price an unpriced half-hour counts (pence/kWh).
_UNPRICED_MARGIN = 100.0

REASONS = {
    "battery_power": "The unit's charge power cannot reach the target SoC in the time left.",
    "house_limit": "The household's import limit leaves too little headroom to reach the target.",
}


@dataclass(frozen=True)
class BatteryRequest:
    import_prices: Sequence[Decimal | None]
    capacity_wh: int
    soc_pct: Decimal
    reserve_pct: Decimal
    charge_limit_w: int
    discharge_limit_w: int
    efficiency: Decimal = Decimal("0.9")  # round trip
    export_prices: Sequence[Decimal | None] | None = None
    house_load_w: Sequence[int] | None = None
    headroom_w: Sequence[int] | None = None  # for charging from the grid
    target_pct: Decimal | None = None
    target_slot: int | None = None  # the SoC at the start of this slot (0..T)


@dataclass(frozen=True)
class BatteryPlan:
    power_w: tuple[int, ...]  # + discharging, - charging (the batteries app's sign)
    soc_pct: tuple[Decimal, ...]  # at the start of each slot and at the end (T + 1)
    import_wh: tuple[int, ...]  # taken from the grid to charge
    delivered_wh: tuple[int, ...]  # discharged (to the house first, then exported)
    cost_pence: Decimal  # charging cost minus the import it saves and the export credit
    unpriced_wh: int
    met: bool
    reason: str


def _fleet_inputs(n: int, slots: int, **arrays):
    """Defaults for the optional arrays, as float64 of the right shape."""
    out = {}
    for name, default in (("export_prices", np.nan), ("load_w", 0.0), ("headroom_w", np.inf)):
        value = arrays.get(name)
        out[name] = np.full((n, slots), default) if value is None else value.astype(np.float64)
    return out


def _move_costs(t, step, eff, k_charge_t, k_discharge, priced, imp_value, exp_value, load_wh):
    """Cost (pence) of moving +a levels (charge) and -a levels (discharge) in slot ``t``, per unit;
    infinite beyond the unit's limits."""
    charge, discharge = [], []
    for a in range(1, int(k_charge_t.max(initial=0)) + 1):
        cost = priced[:, t] * a * step / eff / 1000
        charge.append(np.where(a <= k_charge_t, cost, np.inf))
    for a in range(1, int(k_discharge.max(initial=0)) + 1):
        delivered = a * step
        house = np.minimum(delivered, load_wh[:, t])
        value = imp_value[:, t] * house + exp_value[:, t] * (delivered - house)
        discharge.append(np.where(a <= k_discharge, -value / 1000, np.inf))
    return charge, discharge


def _backward(levels, slots, costs_at, terminal, reserve, target, target_slot):
    """The best move from every level at every slot (T, B, S), by backward induction."""
    batch = terminal.shape[0]
    state = np.arange(levels)
    shortfall = _TARGET_PENALTY * np.maximum(target[:, None] - state[None, :], 0)
    value = terminal + np.where((target_slot == slots)[:, None], shortfall, 0)
    moves = np.zeros((slots, batch, levels), dtype=np.int16)
    below_reserve = state[None, :] < reserve[:, None]
    for t in range(slots - 1, -1, -1):
        charge, discharge = costs_at(t)
        width = max(len(charge), len(discharge))
        padded = np.full((batch, levels + 2 * width), np.inf)
        padded[:, width : width + levels] = value
        floor = np.where(below_reserve, np.inf, value)
        padded_floor = np.full((batch, levels + 2 * width), np.inf)
        padded_floor[:, width : width + levels] = floor
        best, move = value.copy(), moves[t]
        for a, cost in enumerate(charge, start=1):
            candidate = padded[:, width + a : width + a + levels] + cost[:, None]
            better = candidate < best
            best = np.where(better, candidate, best)
            move[better] = a
        for a, cost in enumerate(discharge, start=1):
            candidate = padded_floor[:, width - a : width - a + levels] + cost[:, None]
            better = candidate < best
            best = np.where(better, candidate, best)
            move[better] = -a
        value = best + np.where((target_slot == t)[:, None], shortfall, 0)
    return moves


def _level_size_wh(cap, charge_w, eff, levels):
    """Wh per level: at most capacity / (levels - 1), and a whole fraction of what the unit
    stores in a half-hour at full charge power, so full power is on the grid."""
    base = cap / (levels - 1)
    per_slot = charge_w * SLOT_HOURS * eff
    parts = np.maximum(np.ceil(per_slot / base - 1e-9), 1)
    # A unit that stores less than a quarter level a half-hour keeps the coarse grid (and cannot
    # be planned to charge): a finer one would cost the fleet more than such a unit could gain.
    return np.where(per_slot >= base / 4, per_slot / parts, base)


def _plan_chunk(slots, levels, imp, exp, load, headroom, cap, soc, reserve, target, slot_k, lim):
    charge_w, discharge_w, eff = lim
    step = _level_size_wh(cap, charge_w, eff, levels)
    known_max = np.max(np.where(np.isnan(imp), -np.inf, imp), axis=1, initial=0)
    priced = np.where(np.isnan(imp), known_max[:, None] + _UNPRICED_MARGIN, imp)
    imp_value, exp_value = np.nan_to_num(imp), np.nan_to_num(exp)
    load_wh = np.maximum(load, 0) * SLOT_HOURS
    room_w = np.maximum(np.minimum(charge_w[:, None], headroom), 0)
    k_charge = np.floor(room_w * SLOT_HOURS * eff[:, None] / step[:, None] + 1e-9).astype(int)
    k_discharge = np.floor(discharge_w * SLOT_HOURS / step + 1e-9).astype(int)
    # The grid runs through the SoC now: level i is soc + (i - start) steps, within 0..100 %.
    pct = step / cap * 100
    start = np.floor(soc / pct + 1e-9).astype(int)
    offset = soc - start * pct
    top = start + np.floor((100 - soc) / pct + 1e-9).astype(int)
    levels = int(top.max()) + 1
    floor_level = np.ceil((reserve - offset) / pct - 1e-9).astype(int)
    wanted = np.ceil((np.nan_to_num(target) - offset) / pct - 1e-9).astype(int)
    target_level = np.where(np.isnan(target), 0, np.minimum(wanted, top))
    cheapest = np.min(np.where(np.isnan(imp), np.inf, imp), axis=1)
    worth = np.where(np.isfinite(cheapest), np.maximum(cheapest, 0), 0)
    state = np.arange(levels)[None, :]
    terminal = np.where(state > top[:, None], np.inf, -(worth * step)[:, None] * state / 1000)

    def costs_at(t):
        return _move_costs(
            t, step, eff, k_charge[:, t], k_discharge, priced, imp_value, exp_value, load_wh
        )

    moves = _backward(levels, slots, costs_at, terminal, floor_level, target_level, slot_k)
    plan = np.zeros((len(cap), slots), dtype=np.int64)
    level = start.copy()
    rows = np.arange(len(cap))
    for t in range(slots):
        plan[:, t] = moves[t, rows, level]
        level = level + plan[:, t]
    return plan, step


def plan_battery_fleet(
    *,
    import_prices: np.ndarray,
    capacity_wh: np.ndarray,
    soc_pct: np.ndarray,
    reserve_pct: np.ndarray,
    charge_limit_w: np.ndarray,
    discharge_limit_w: np.ndarray,
    efficiency: np.ndarray,
    export_prices: np.ndarray | None = None,
    load_w: np.ndarray | None = None,
    headroom_w: np.ndarray | None = None,
    target_pct: np.ndarray | None = None,
    target_slot: np.ndarray | None = None,
    levels: int = 41,
    chunk: int = 8192,
) -> tuple[np.ndarray, np.ndarray]:
    """Plan N batteries over T slots. Arrays of shape (N, T) for prices (p/kWh, NaN: none), load
    and headroom (W); (N,) for the rest (``target_pct`` NaN and ``target_slot`` -1: no target).
    Returns the move per slot in SoC levels (N, T; + charge) and each unit's level size in Wh."""
    n, slots = import_prices.shape
    extra = _fleet_inputs(
        n, slots, export_prices=export_prices, load_w=load_w, headroom_w=headroom_w
    )
    target = np.full(n, np.nan) if target_pct is None else target_pct.astype(np.float64)
    slot_k = np.full(n, -1) if target_slot is None else target_slot
    plans, steps = [], []
    for lo in range(0, n, chunk):
        part = slice(lo, lo + chunk)
        plan, step = _plan_chunk(
            slots,
            levels,
            import_prices[part],
            extra["export_prices"][part],
            extra["load_w"][part],
            extra["headroom_w"][part],
            capacity_wh[part].astype(np.float64),
            soc_pct[part].astype(np.float64),
            reserve_pct[part].astype(np.float64),
            target[part],
            slot_k[part],
            (
                charge_limit_w[part].astype(np.float64),
                discharge_limit_w[part].astype(np.float64),
                efficiency[part].astype(np.float64),
            ),
        )
        plans.append(plan)
        steps.append(step)
    return np.concatenate(plans), np.concatenate(steps)


def _optional(values, slots: int) -> np.ndarray | None:
    if values is None:
        return None
    return np.array([[np.nan if v is None else float(v) for v in values]], dtype=np.float64)


def plan_battery(request: BatteryRequest, *, levels: int = 41) -> BatteryPlan:
    """One battery's plan (see the module's docstring for the rules)."""
    slots = len(request.import_prices)
    target = np.nan if request.target_pct is None else float(request.target_pct)
    moves, step = plan_battery_fleet(
        import_prices=prices_as_array(request.import_prices)[None, :],
        export_prices=_optional(request.export_prices, slots),
        load_w=_optional(request.house_load_w, slots),
        headroom_w=_optional(request.headroom_w, slots),
        capacity_wh=np.array([request.capacity_wh]),
        soc_pct=np.array([float(request.soc_pct)]),
        reserve_pct=np.array([float(request.reserve_pct)]),
        charge_limit_w=np.array([request.charge_limit_w]),
        discharge_limit_w=np.array([request.discharge_limit_w]),
        efficiency=np.array([float(request.efficiency)]),
        target_pct=np.array([target]),
        target_slot=np.array([-1 if request.target_slot is None else request.target_slot]),
        levels=levels,
    )
    return _plan_from_moves(request, moves[0], float(step[0]))


def _plan_from_moves(request: BatteryRequest, moves, step: float) -> BatteryPlan:
    efficiency = float(request.efficiency)
    pct_step = Decimal(step) * 100 / request.capacity_wh
    soc = [request.soc_pct]
    power, imported, delivered = [], [], []
    for move in (int(m) for m in moves):
        soc.append(soc[-1] + move * pct_step)
        grid = move * step / efficiency if move > 0 else 0.0
        out = -move * step if move < 0 else 0.0
        imported.append(round(grid))
        delivered.append(int(out))
        power.append(int(2 * out) - int(2 * grid))
    cost, unpriced = _battery_cost(request, imported, delivered)
    met, reason = True, ""
    if request.target_pct is not None and request.target_slot is not None:
        reached = soc[min(max(request.target_slot, 0), len(moves))]
        # A target on no grid level is met one step below it when the unit is nearly full.
        if reached < request.target_pct and reached + pct_step <= 100:
            met, reason = False, _target_reason(request, step)
    return BatteryPlan(
        power_w=tuple(power),
        soc_pct=tuple(s.quantize(Decimal("0.01")) for s in soc),
        import_wh=tuple(imported),
        delivered_wh=tuple(delivered),
        cost_pence=cost,
        unpriced_wh=unpriced,
        met=met,
        reason=reason,
    )


def _battery_cost(request: BatteryRequest, imported, delivered) -> tuple[Decimal, int]:
    cost, unpriced = Decimal(0), 0
    loads = request.house_load_w or [0] * len(imported)
    exports = request.export_prices or [None] * len(imported)
    for grid, out, price, export, load in zip(
        imported, delivered, request.import_prices, exports, loads, strict=True
    ):
        house = min(out, int(max(load, 0) * SLOT_HOURS))
        if grid and price is None:
            unpriced += grid
        if price is not None:
            cost += Decimal(grid - house) * price / 1000
        if export is not None:
            cost -= Decimal(out - house) * export / 1000
    return cost, unpriced


def _target_reason(request: BatteryRequest, step: float) -> str:
    """Whether the unit's own charge power could have reached the target in time (then the
    house's headroom is what stopped it)."""
    per_slot = int(request.charge_limit_w * SLOT_HOURS * float(request.efficiency) / step + 1e-9)
    reachable = float(request.soc_pct) + per_slot * step * request.target_slot * 100 / (
        request.capacity_wh
    )
    return "battery_power" if reachable < float(request.target_pct) else "house_limit"
