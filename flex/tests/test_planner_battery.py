"""The battery planner on its own: hand-checked plans, every constraint as a property, and the
dynamic programme against every sequence of moves on small cases."""

import itertools
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flex.planner import BatteryRequest, plan_battery

D = Decimal


def band(*bands):
    return [None if p is None else D(p) for count, p in bands for _ in range(count)]


def test_it_charges_cheap_and_covers_the_house_at_peak():
    # 10 kWh unit at 50 %, reserve 20 %, 80 % round trip; the house takes 1 kW all day. Grid of
    # 5 % (500 Wh: 2.5 kW x 0.5 h x 0.8 = 1 kWh stored is two levels). Cheap slots 0-1 at 5p,
    # peak slots 2-5 at 40p. 4 slots x 500 Wh of house load at peak = 2 kWh; the unit holds 3 kWh
    # above reserve: it covers the peak and does not charge (5p / 0.8 = 6.25p per stored kWh is
    # more than the 5p the leftover is worth).
    plan = plan_battery(
        BatteryRequest(
            import_prices=band((2, "5"), (4, "40")),
            capacity_wh=10_000,
            soc_pct=D(50),
            reserve_pct=D(20),
            charge_limit_w=2500,
            discharge_limit_w=3000,
            efficiency=D("0.8"),
            house_load_w=[1000] * 6,
        ),
        levels=21,
    )
    assert plan.power_w == (0, 0, 1000, 1000, 1000, 1000)
    assert plan.soc_pct[-1] == D(30)
    assert plan.cost_pence == D(-80)  # 4 x 0.5 kWh of import at 40p saved


def test_it_fills_up_cheap_to_serve_a_long_peak():
    # Same unit, but 8 peak slots need 4 kWh: 3 kWh above reserve plus 1 kWh bought at 5p
    # (1 kWh stored takes 1.25 kWh from the grid at 80 % round trip: 2.5 kW for half an hour).
    plan = plan_battery(
        BatteryRequest(
            import_prices=band((1, "5"), (8, "40")),
            capacity_wh=10_000,
            soc_pct=D(50),
            reserve_pct=D(20),
            charge_limit_w=2500,
            discharge_limit_w=3000,
            efficiency=D("0.8"),
            house_load_w=[1000] * 9,
        ),
        levels=21,
    )
    assert plan.power_w[0] == -2500
    assert plan.import_wh[0] == 1250
    assert plan.power_w[1:] == (1000,) * 8
    assert plan.soc_pct[-1] == D(20)


def test_it_exports_when_the_export_rate_beats_the_stored_energys_worth():
    plan = plan_battery(
        BatteryRequest(
            import_prices=band((2, "10")),
            export_prices=band((1, "5"), (1, "30")),
            capacity_wh=10_000,
            soc_pct=D(60),
            reserve_pct=D(20),
            charge_limit_w=2500,
            discharge_limit_w=4000,
            efficiency=D("0.8"),
        ),
        levels=21,
    )
    # 2 kWh in the 30p half-hour (the discharge limit), nothing in the 5p one.
    assert plan.power_w == (0, 4000)
    assert plan.cost_pence == D(-60)


def test_it_reaches_the_target_soc_by_its_slot_in_the_cheapest_half_hours():
    plan = plan_battery(
        BatteryRequest(
            import_prices=band((1, "20"), (1, "8"), (1, "12"), (1, "3")),
            capacity_wh=10_000,
            soc_pct=D(20),
            reserve_pct=D(10),
            charge_limit_w=4500,
            discharge_limit_w=4500,
            target_pct=D(60),
            target_slot=3,  # by the start of slot 3: the 3p slot is too late
        ),
        levels=21,
    )
    # 40 % = 4 kWh stored; 4.5 kW x 0.5 h x 0.9 = 2.025 kWh a slot (5 levels of 405 Wh): the 8p
    # and the 12p half-hours at full power.
    assert plan.soc_pct[3] >= D(60)
    assert plan.power_w[1] < 0 and plan.power_w[2] < 0 and plan.power_w[0] == 0
    assert plan.met


def test_it_says_when_the_target_cannot_be_reached():
    request = BatteryRequest(
        import_prices=band((4, "10")),
        capacity_wh=10_000,
        soc_pct=D(20),
        reserve_pct=D(10),
        charge_limit_w=2000,
        discharge_limit_w=2000,
        target_pct=D(100),
        target_slot=2,
    )
    plan = plan_battery(request, levels=21)
    assert not plan.met
    assert plan.reason == "battery_power"
    assert plan.soc_pct[2] == D(38)  # 2 slots x 0.9 kWh stored: the most 2 kW can do
    house = plan_battery(
        BatteryRequest(**{**request.__dict__, "charge_limit_w": 9000, "headroom_w": [1000] * 4}),
        levels=21,
    )
    assert house.reason == "house_limit"


def test_it_charges_in_an_unpriced_half_hour_only_for_the_target():
    common = {
        "import_prices": band((1, None), (1, "10")),
        "capacity_wh": 10_000,
        "soc_pct": D(20),
        "reserve_pct": D(10),
        "charge_limit_w": 4000,
        "discharge_limit_w": 4000,
    }
    without = plan_battery(BatteryRequest(**common), levels=21)
    assert without.power_w[0] == 0
    needs = plan_battery(BatteryRequest(**common, target_pct=D(50), target_slot=1), levels=21)
    assert needs.power_w[0] < 0
    assert needs.unpriced_wh > 0


def test_it_plans_clock_change_days():
    for slots in (46, 50):
        day = [D(30)] * slots
        day[slots - 1] = D(2)
        plan = plan_battery(
            BatteryRequest(
                import_prices=day,
                capacity_wh=5000,
                soc_pct=D(50),
                reserve_pct=D(20),
                charge_limit_w=3000,
                discharge_limit_w=3000,
                house_load_w=[500] * slots,
            )
        )
        assert len(plan.power_w) == slots
        assert len(plan.soc_pct) == slots + 1


price = st.one_of(st.none(), st.integers(-10, 60).map(D))


@st.composite
def battery_requests(draw):
    slots = draw(st.integers(1, 12))
    prices = st.lists(price, min_size=slots, max_size=slots)
    watts = st.lists(st.integers(-500, 9000), min_size=slots, max_size=slots)
    target_slot = draw(st.one_of(st.none(), st.integers(0, slots)))
    return BatteryRequest(
        import_prices=draw(prices),
        export_prices=draw(st.one_of(st.none(), prices)),
        capacity_wh=draw(st.integers(1000, 20_000)),
        soc_pct=D(draw(st.integers(0, 100))),
        reserve_pct=D(draw(st.integers(0, 60))),
        charge_limit_w=draw(st.integers(0, 8000)),
        discharge_limit_w=draw(st.integers(0, 8000)),
        efficiency=D(draw(st.sampled_from(["0.8", "0.9", "1"]))),
        house_load_w=draw(st.one_of(st.none(), watts)),
        headroom_w=draw(st.one_of(st.none(), watts)),
        target_pct=None if target_slot is None else D(draw(st.integers(0, 100))),
        target_slot=target_slot,
    )


@settings(max_examples=120, deadline=None)
@given(battery_requests())
def test_every_battery_plan_keeps_every_constraint(request_):
    plan = plan_battery(request_, levels=21)
    slots = len(request_.import_prices)
    assert len(plan.power_w) == slots and len(plan.soc_pct) == slots + 1
    for t, power in enumerate(plan.power_w):
        assert all(D(0) <= soc <= D(100) for soc in plan.soc_pct)
        if power > 0:  # discharging: within the limit and never below the reserve
            assert power <= request_.discharge_limit_w
            assert plan.soc_pct[t + 1] >= request_.reserve_pct
        if power < 0:
            assert -power <= request_.charge_limit_w
            if request_.headroom_w is not None:
                assert -power <= request_.headroom_w[t]
        if power < 0 and request_.import_prices[t] is None:
            assert request_.target_pct is not None and t < request_.target_slot


def _grid_cost(request_, moves, levels):
    """What a sequence of level moves costs, by the planner's own account of energy."""
    step = request_.capacity_wh / (levels - 1)
    eff = float(request_.efficiency)
    total = 0.0
    for t, move in enumerate(moves):
        price = float(request_.import_prices[t])
        total += price * move * step / eff / 1000 if move > 0 else price * move * step / 1000
    return total - float(min(request_.import_prices)) * sum(moves) * step / 1000


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 40).map(D), min_size=1, max_size=4),
    st.integers(0, 4),
    st.integers(1, 3),
)
def test_the_programme_matches_every_sequence_of_moves_on_a_small_grid(day, start, limit):
    # 5 levels of 1 kWh; a house that takes everything discharged (so each kWh out is worth the
    # import price); the leftover is worth the day's cheapest price, as the planner says.
    levels = 5
    request_ = BatteryRequest(
        import_prices=day,
        capacity_wh=4000,
        soc_pct=D(start * 25),
        reserve_pct=D(0),
        charge_limit_w=limit * 2000,
        discharge_limit_w=limit * 2000,
        efficiency=D(1),
        house_load_w=[99_000] * len(day),
    )
    plan = plan_battery(request_, levels=levels)
    planned = [round(-p / 2000) for p in plan.power_w]
    best = None
    for moves in itertools.product(range(-limit, limit + 1), repeat=len(day)):
        levels_seen = np.cumsum((start, *moves))
        if levels_seen.min() < 0 or levels_seen.max() > levels - 1:
            continue
        cost = _grid_cost(request_, moves, levels)
        best = cost if best is None else min(best, cost)
    assert _grid_cost(request_, planned, levels) == pytest.approx(best)
