"""The flexibility planner at fleet scale, and what it saves over a year of agile-style prices.

1. Plans one day (48 half-hours from 16:00) for ``--chargers`` EV chargers and ``--batteries``
   home batteries with the planner's fleet functions (``flex.planner``), the code the services
   run, and prints the wall time of each. No database: the planner is pure.
2. Generates a year of half-hourly import prices (see ``year_of_prices``) and, for a sample of
   ``--sample`` chargers, plans every evening of the year three ways: smart (the planner),
   "charge on plug-in" and a static cheap window (full power from 00:30 in time order, the
   Economy-7 habit). Prints each one's cost a year and the savings.
3. For the same year re-cut into days from 00:00, a battery fleet sample: the planner's saving
   against leaving the unit idle and against a static schedule (charge 00:30-04:30, cover the
   house 16:00-19:00 down to the reserve).

The reference is measured in the same run (the static and on-plug-in plans go through the same
code path), so the ratio is comparable across machines; the seconds are this machine's.

    .venv/bin/python bench/bench_flex_planning.py [--chargers 100000] [--batteries 100000]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flex.planner import plan_battery_fleet, plan_ev_fleet

SLOTS = 48  # a horizon of 24 h from 16:00 local
READY_BY = 30  # 07:00 the next morning
CHEAP_WINDOW = (17, 25)  # 00:30-04:30


def year_of_prices(rng: np.random.Generator, days: int = 365) -> np.ndarray:
    """Half-hourly import prices (p/kWh, inc VAT) for ``days`` horizons of 48 slots from 16:00,
    shaped like an agile tariff: a seasonal level (dearer in winter), a daily shape (the night
    trough, a morning rise, a midday dip deeper in summer, the 16:00-19:00 peak), day-to-day
    weather (an AR(1) level), noise, a noisy peak (log-normal spikes) and, on one windy night in
    twenty, negative prices in the small hours. Capped at 100p as agile tariffs are."""
    day = np.arange(days)[:, None]
    slot = np.arange(SLOTS)[None, :]
    hour = (16 + slot / 2) % 24
    winter = np.cos(2 * np.pi * (day - 15) / 365)
    level = 22 + 6 * winter
    weather = np.zeros(days)
    for d in range(1, days):
        weather[d] = 0.7 * weather[d - 1] + rng.normal(0, 2.5)
    night = -9 * np.exp(-(((hour - 3.5) / 2.2) ** 2))
    morning = 4 * np.exp(-(((hour - 8) / 1.5) ** 2))
    midday = -(3 + 4 * (1 - winter) / 2) * np.exp(-(((hour - 13) / 2) ** 2))
    peak_hours = (hour >= 16) & (hour < 19)
    peak = np.where(peak_hours, 12 + 4 * winter, 0) * rng.lognormal(0, 0.35, (days, SLOTS))
    prices = level + weather[:, None] + night + morning + midday + peak
    prices = prices + rng.normal(0, 1.5, (days, SLOTS))
    windy = rng.random(days)[:, None] < 0.05
    prices = np.where(windy & (hour >= 1) & (hour < 5), rng.uniform(-8, 0, (days, SLOTS)), prices)
    return np.minimum(np.round(prices, 2), 100)


def ev_fleet(rng: np.random.Generator, n: int):
    """Chargers of 3.6, 7.4 and 11 kW, cars plugged in between 17:00 and 20:00 wanting 5-40 kWh
    by 07:00, in houses of 60 A (13.8 kW) with an evening load profile; before plug-in there is
    no car, which the plan sees as no headroom."""
    max_power = rng.choice([3600, 7400, 11000], n, p=[0.2, 0.7, 0.1])
    energy = rng.integers(5_000, 40_001, n)
    plug_in = rng.integers(2, 9, n)
    slot = np.arange(SLOTS)
    hour = (16 + slot / 2) % 24
    load = 400 + 1800 * ((hour >= 17) & (hour < 21)) + rng.uniform(0, 800, (n, SLOTS))
    headroom = np.where(slot[None, :] >= plug_in[:, None], 13_800 - load, 0)
    return max_power, energy, headroom, load


def house_load_from_midnight(rng: np.random.Generator, n: int) -> np.ndarray:
    """W per half-hour of a day from 00:00: a night base, a morning rise, the evening peak."""
    hour = np.arange(SLOTS) / 2
    shape = 300 + 700 * ((hour >= 7) & (hour < 9)) + 1500 * ((hour >= 16) & (hour < 21))
    return shape + rng.uniform(0, 800, (n, SLOTS))


def days_from_midnight(year: np.ndarray) -> np.ndarray:
    """The year's prices re-cut into days from 00:00 (the horizons start at 16:00)."""
    flat = year.reshape(-1)[16:]
    days = len(flat) // SLOTS
    return flat[: days * SLOTS].reshape(days, SLOTS)


def battery_fleet(rng: np.random.Generator, n: int):
    capacity = rng.choice([5_000, 9_500, 13_500], n)
    power = rng.choice([3000, 3600, 5000], n)
    soc = rng.uniform(20, 80, n).round(1)
    reserve = rng.choice([10.0, 20.0], n)
    return capacity, power, soc, reserve


def time_it(label: str, work):
    """Wall time and this process's CPU time: on a shared machine the two differ by how much of
    a core the process got."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s wall, {time.process_time() - cpu:.2f} s CPU")
    return result, seconds


def ev_costs(prices_day, max_power, energy, headroom) -> tuple[float, float, float]:
    n = len(max_power)
    prices = np.broadcast_to(prices_day, (n, SLOTS))
    common = {
        "prices": prices,
        "energy_wh": energy,
        "ready_by": np.full(n, READY_BY),
        "max_power_w": max_power,
        "headroom_w": headroom,
    }
    smart, _ = plan_ev_fleet(**common)
    now, _ = plan_ev_fleet(**common, immediate=True)
    window = np.zeros_like(headroom)
    window[:, CHEAP_WINDOW[0] :] = headroom[:, CHEAP_WINDOW[0] :]
    static, _ = plan_ev_fleet(**{**common, "headroom_w": window}, immediate=True)
    return tuple(float((plan * prices).sum()) / 1000 for plan in (smart, now, static))


def battery_static_cost(prices, load, capacity, power, soc, reserve, eff) -> np.ndarray:
    """The static schedule's cost (pence) against idle, over a day from 00:00: charge at full
    power 00:30-04:30 until full, cover the house 16:00-19:00 down to the reserve; the energy
    left at the end is worth what the planner says it is."""
    stored = soc / 100 * capacity
    cost = np.zeros(len(capacity))
    for t in range(SLOTS):
        if 1 <= t < 9:  # 00:30-04:30
            take = np.minimum(power * 0.5 * eff, capacity - stored)
            cost += take / eff * prices[:, t] / 1000
            stored += take
        elif 32 <= t < 38:  # 16:00-19:00
            give = np.minimum(
                np.minimum(power * 0.5, load[:, t] * 0.5), stored - reserve / 100 * capacity
            )
            give = np.maximum(give, 0)
            cost -= give * prices[:, t] / 1000
            stored -= give
    worth = np.maximum(prices.min(axis=1), 0)
    return cost - (stored - soc / 100 * capacity) * worth / 1000


def battery_costs(prices_day, load, capacity, power, soc, reserve) -> tuple[float, float]:
    n = len(capacity)
    prices = np.broadcast_to(prices_day, (n, SLOTS))
    eff = np.full(n, 0.9)
    moves, step = plan_battery_fleet(
        import_prices=prices,
        capacity_wh=capacity,
        soc_pct=soc,
        reserve_pct=reserve,
        charge_limit_w=power,
        discharge_limit_w=power,
        efficiency=eff,
        load_w=load,
        headroom_w=13_800 - load,
    )
    stored = moves * step[:, None]
    charge = np.where(stored > 0, stored / eff[:, None], 0)
    out = np.where(stored < 0, -stored, 0)
    house = np.minimum(out, load * 0.5)
    worth = np.maximum(prices.min(axis=1), 0)
    smart = (charge - house) * prices / 1000
    smart = smart.sum(axis=1) - stored.sum(axis=1) * worth / 1000
    static = battery_static_cost(prices, load, capacity, power, soc, reserve, 0.9)
    return float(smart.sum()), float(static.sum())


def fleet_day(rng, chargers: int, batteries: int, prices_day) -> None:
    max_power, energy, headroom, load = ev_fleet(rng, chargers)
    prices = np.broadcast_to(prices_day, (chargers, SLOTS))
    time_it(
        f"plan a day for {chargers:,} chargers",
        lambda: plan_ev_fleet(
            prices=prices,
            energy_wh=energy,
            ready_by=np.full(chargers, READY_BY),
            max_power_w=max_power,
            headroom_w=headroom,
        ),
    )
    capacity, power, soc, reserve = battery_fleet(rng, batteries)
    load = load[:batteries] if batteries <= chargers else np.resize(load, (batteries, SLOTS))
    time_it(
        f"plan a day for {batteries:,} batteries",
        lambda: plan_battery_fleet(
            import_prices=np.broadcast_to(prices_day, (batteries, SLOTS)),
            capacity_wh=capacity,
            soc_pct=soc,
            reserve_pct=reserve,
            charge_limit_w=power,
            discharge_limit_w=power,
            efficiency=np.full(batteries, 0.9),
            load_w=load,
            headroom_w=13_800 - load,
        ),
    )


def year_savings(rng, year, sample: int) -> None:
    totals = np.zeros(3)
    battery = np.zeros(2)
    for prices_day in year:
        max_power, energy, headroom, _load = ev_fleet(rng, sample)
        totals += ev_costs(prices_day, max_power, energy, headroom)
    for prices_day in days_from_midnight(year):
        load = house_load_from_midnight(rng, sample)
        battery += battery_costs(prices_day, load, *battery_fleet(rng, sample))
    smart, now, static = totals / sample / 100
    print(f"EV, £ a year per charger: smart {smart:.2f}, on plug-in {now:.2f}, static {static:.2f}")
    print(
        f"EV savings: {100 * (now - smart) / now:.1f} % vs on plug-in (£{now - smart:.2f}), "
        f"{100 * (static - smart) / static:.1f} % vs static window (£{static - smart:.2f})"
    )
    smart_b, static_b = battery / sample / 100
    print(
        f"battery, £ a year per unit against idle: smart {-smart_b:.2f} saved, "
        f"static window {-static_b:.2f} saved"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=100_000)
    parser.add_argument("--batteries", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=500, help="fleet sample for the year")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    year = year_of_prices(rng)
    print(
        f"a year of prices: mean {year.mean():.1f}p, min {year.min():.1f}p, "
        f"max {year.max():.1f}p, {int((year < 0).sum())} negative half-hours"
    )
    fleet_day(rng, args.chargers, args.batteries, year[0])
    time_it(
        f"a year for {args.sample} chargers and batteries",
        lambda: year_savings(rng, year, args.sample),
    )


if __name__ == "__main__":
    main()
