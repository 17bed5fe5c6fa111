"""Home batteries: charge in the cheap half-hours, discharge at peak (to the house, and to the grid
when the export rate beats what the stored energy is worth), reach a target SoC by a slot, never
below the reserve, within the unit's power limits and the house's headroom.

The method is dynamic programming over a grid of SoC levels, vectorised across a fleet: the
cost of a half-hour's move depends on the move and the slot, not on the SoC it starts from, so
each backward step is one shifted array minimum per move. The grid has steps of at most
capacity / (``levels`` - 1) (2.5 % by default), sized so that full charge power is a whole number
of steps, and no more than ``most_moves`` (6) steps a half-hour: a small unit with a big inverter
gets a coarser grid. It is exact on its grid (``flex/tests/test_planner_battery.py`` checks it
against every sequence of moves on small cases); a partial half-hour is planned in whole steps
(a 5 kW unit on 13.5 kWh in steps of 750 W) — the price of a fleet planned in seconds.

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
_TARGET_PENALTY = 1e5
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


def _move_costs(step, eff, k_charge, k_discharge, widths, priced, values, load_wh):
    """Cost (pence) of each move in each slot, (T, B, A): column ``j`` moves ``j -
    most_discharge`` levels (+ charge); infinite beyond the unit's limits. A ten-thousandth of a
    penny per level breaks ties towards the smaller move."""
    most_discharge, most_charge = widths
    imp_value, exp_value = values
    moves = np.arange(-most_discharge, most_charge + 1)[None, None, :]
    energy = np.abs(moves) * step[:, None, None]
    charge = priced[:, :, None] * energy / eff[:, None, None] / 1000
    house = np.minimum(energy, load_wh[:, :, None])
    discharge = -(imp_value[:, :, None] * house + exp_value[:, :, None] * (energy - house)) / 1000
    cost = np.where(moves > 0, charge, discharge) + 1e-4 * np.abs(moves)
    allowed = (moves <= k_charge[:, :, None]) & (-moves <= k_discharge[:, None, None])
    return np.where(allowed, cost, np.inf).astype(np.float32).transpose(1, 0, 2).copy()


def _backward(slots, costs_at, widths, terminal, bounds, target, target_slot):
    """The value of every level at every slot (T + 1, B, S), by backward induction: for each
    level, the least of (the move's cost + the value of where it lands) over every move: one
    shifted array minimum per move (discharges may not land below the reserve). In float32: the
    bandwidth is the cost, and a hundredth of a penny is precision enough."""
    most_discharge, most_charge = widths
    reserve, top = bounds
    batch, levels = terminal.shape
    state = np.arange(levels)[None, :]
    shortfall = (_TARGET_PENALTY * np.maximum(target[:, None] - state, 0)).astype(np.float32)
    outside = np.where(state > top[:, None], np.inf, 0).astype(np.float32)
    below_reserve = state < reserve[:, None]
    values = np.empty((slots + 1, batch, levels), dtype=np.float32)
    values[slots] = terminal + np.where((target_slot == slots)[:, None], shortfall, 0) + outside
    width = levels + most_discharge + most_charge
    padded = np.full((batch, width), np.inf, dtype=np.float32)
    padded_floor = np.full((batch, width), np.inf, dtype=np.float32)
    inner = slice(most_discharge, most_discharge + levels)
    scratch = np.empty((batch, levels), dtype=np.float32)
    for t in range(slots - 1, -1, -1):
        padded[:, inner] = values[t + 1]
        padded_floor[:, inner] = np.where(below_reserve, np.inf, values[t + 1])
        cost = costs_at(t)
        best = values[t]
        best[:] = np.inf
        for column in range(most_discharge + most_charge + 1):
            source = padded_floor if column < most_discharge else padded
            np.add(source[:, column : column + levels], cost[:, column, None], out=scratch)
            np.minimum(best, scratch, out=best)
        best += np.where((target_slot == t)[:, None], shortfall, 0) + outside
    return values


def _forward(costs_at, widths, values, start, reserve):
    """Follow the best moves from the SoC now: at each slot, the move whose cost plus the value
    of where it lands is least (ties: the smaller move, by the tie-breaking cost)."""
    most_discharge, most_charge = widths
    slots, batch, levels = values.shape[0] - 1, values.shape[1], values.shape[2]
    moves = np.arange(-most_discharge, most_charge + 1)[None, :]
    rows = np.arange(batch)[:, None]
    level = start.copy()
    plan = np.zeros((batch, slots), dtype=np.int64)
    for t in range(slots):
        landing = level[:, None] + moves
        inside = (landing >= 0) & (landing < levels)
        inside &= (moves >= 0) | (landing >= reserve[:, None])
        worth = values[t + 1][rows, np.clip(landing, 0, levels - 1)]
        total = np.where(inside, worth, np.inf) + costs_at(t)
        plan[:, t] = moves[0, np.argmin(total, axis=1)]
        level = level + plan[:, t]
    return plan


def _level_size_wh(cap, charge_w, eff, levels, most_moves):
    """Wh per level: a whole fraction of what the unit stores in a half-hour at full charge
    power (so full power is on the grid), at most capacity / (levels - 1) unless that would take
    more than ``most_moves`` levels a half-hour (a small unit with a big inverter gets a coarser
    grid rather than costing the fleet many more moves)."""
    base = cap / (levels - 1)
    per_slot = charge_w * SLOT_HOURS * eff
    parts = np.clip(np.ceil(per_slot / base - 1e-9), 1, most_moves)
    # A unit that stores less than a quarter level a half-hour keeps the coarse grid (and cannot
    # be planned to charge): a finer one would cost the fleet more than such a unit could gain.
    return np.where(per_slot >= base / 4, per_slot / parts, base)


def _plan_chunk(
    slots, levels, most_moves, imp, exp, load, headroom, cap, soc, reserve, target, slot_k, lim
):
    charge_w, discharge_w, eff = lim
    step = _level_size_wh(cap, charge_w, eff, levels, most_moves)
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
    terminal = -(worth * step)[:, None] * state / 1000

    widths = (int(k_discharge.max(initial=0)), int(k_charge.max(initial=0)))

    costs = _move_costs(
        step, eff, k_charge, k_discharge, widths, priced, (imp_value, exp_value), load_wh
    )

    def costs_at(t):
        return costs[t]

    values = _backward(slots, costs_at, widths, terminal, (floor_level, top), target_level, slot_k)
    return _forward(costs_at, widths, values, start, floor_level), step


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
    most_moves: int = 6,
    chunk: int = 2048,
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
    # Units of one kind plan in the same chunk, so each chunk's grid and moves are its own.
    order = np.lexsort((discharge_limit_w, charge_limit_w, capacity_wh))
    plans = np.zeros((n, slots), dtype=np.int64)
    steps = np.zeros(n)
    for lo in range(0, n, chunk):
        part = order[lo : lo + chunk]
        plans[part], steps[part] = _plan_chunk(
            slots,
            levels,
            most_moves,
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
    return plans, steps


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
