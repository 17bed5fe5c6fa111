"""The EV planner on its own: a hand-checked table, the constraints as properties, brute force on
small cases, clock-change days, missing prices and goals that cannot be met."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flex.planner import EvRequest, plan_ev

D = Decimal


def prices(*bands):
    """(count, price) bands into a list of slot prices."""
    return [None if p is None else D(p) for count, p in bands for _ in range(count)]


# Each row: request, expected power per slot (W), expected cost (pence), worked by hand.
TABLE = [
    # 10 kWh at 7.4 kW from the 4 cheap slots (10-13): 3.7 + 3.7 + 2.6 kWh at 5p = 50p.
    (
        EvRequest(
            prices=prices((10, "30"), (4, "5"), (6, "40")),
            energy_wh=10_000,
            ready_by=20,
            max_power_w=7400,
        ),
        {10: 7400, 11: 7400, 12: 5200},
        D("50"),
    ),
    # The cheapest slot is after ready-by: it cannot be used; next cheapest are 2p..4p.
    (
        EvRequest(
            prices=prices((1, "4"), (1, "2"), (1, "3"), (1, "9"), (1, "1")),
            energy_wh=3_000,
            ready_by=4,
            max_power_w=3000,
        ),
        {1: 3000, 2: 3000},
        D("1.5") * 2 + D("1.5") * 3,
    ),
    # Headroom: the house leaves 2 kW in slot 0 and 7 kW in slot 1; both 10p; 4.5 kWh needed.
    (
        EvRequest(
            prices=prices((2, "10"), (1, "20")),
            energy_wh=4_500,
            ready_by=3,
            max_power_w=7000,
            headroom_w=[2000, 7000, 7000],
        ),
        {0: 2000, 1: 7000, 2: 0},
        D("45"),
    ),
    # Negative prices are the cheapest; the plan still takes only what the car needs.
    (
        EvRequest(
            prices=prices((2, "-5"), (2, "12")),
            energy_wh=1_000,
            ready_by=4,
            max_power_w=7000,
        ),
        {0: 2000},
        D("-5"),
    ),
]


@pytest.mark.parametrize(("request_", "power", "cost"), TABLE)
def test_it_plans_the_hand_checked_cheapest_half_hours(request_, power, cost):
    plan = plan_ev(request_)
    expected = tuple(power.get(i, 0) for i in range(len(request_.prices)))
    assert plan.power_w == expected
    assert plan.cost_pence == cost
    assert plan.met and plan.reason == ""


def test_it_costs_charging_now_from_the_first_half_hour():
    request = TABLE[0][0]
    now = plan_ev(request, immediate=True)
    assert now.power_w[:3] == (7400, 7400, 5200)
    assert now.cost_pence == D("300")
    assert plan_ev(request).cost_pence < now.cost_pence


def test_it_plans_a_clock_change_day_of_46_and_50_half_hours():
    for slots in (46, 50):
        day = [D("20")] * slots
        day[slots - 2] = D("1")  # the last-but-one half-hour of the day is the cheapest
        plan = plan_ev(EvRequest(prices=day, energy_wh=1000, ready_by=slots, max_power_w=2000))
        assert len(plan.power_w) == slots
        assert plan.power_w[slots - 2] == 2000


def test_it_avoids_slots_without_a_price_unless_the_goal_needs_them():
    day = prices((2, None), (2, "30"))
    enough = plan_ev(EvRequest(prices=day, energy_wh=2000, ready_by=4, max_power_w=2000))
    assert enough.power_w == (0, 0, 2000, 2000)
    assert enough.unpriced_wh == 0
    more = plan_ev(EvRequest(prices=day, energy_wh=3000, ready_by=4, max_power_w=2000))
    assert more.power_w == (2000, 0, 2000, 2000)
    assert more.met
    assert more.unpriced_wh == 1000
    assert more.cost_pence == D("60")  # the priced slots only


def test_it_never_uses_unpriced_slots_under_a_price_cap():
    day = prices((2, None), (2, "10"))
    plan = plan_ev(
        EvRequest(prices=day, energy_wh=3000, ready_by=4, max_power_w=2000, price_cap=D("15"))
    )
    assert plan.power_w == (0, 0, 2000, 2000)
    assert not plan.met
    assert plan.reason == "price_cap"
    assert plan.shortfall_wh == 1000


@pytest.mark.parametrize(
    ("request_", "reason", "delivered"),
    [
        (
            EvRequest(prices=prices((4, "10")), energy_wh=9000, ready_by=2, max_power_w=7000),
            "charger_power",
            7000,
        ),
        (
            EvRequest(
                prices=prices((4, "10")),
                energy_wh=9000,
                ready_by=4,
                max_power_w=7000,
                headroom_w=[1000] * 4,
            ),
            "house_limit",
            2000,
        ),
        (
            EvRequest(
                prices=prices((2, "10"), (2, "50")),
                energy_wh=9000,
                ready_by=4,
                max_power_w=7000,
                price_cap=D("20"),
            ),
            "price_cap",
            7000,
        ),
        (
            EvRequest(prices=prices((4, "10")), energy_wh=1000, ready_by=0, max_power_w=7000),
            "charger_power",
            0,
        ),
    ],
)
def test_it_says_why_a_goal_cannot_be_met_and_does_the_best_possible(request_, reason, delivered):
    plan = plan_ev(request_)
    assert not plan.met
    assert plan.reason == reason
    assert plan.delivered_wh == delivered
    assert plan.reason_text


price = st.one_of(st.none(), st.integers(-20, 80).map(D))


@st.composite
def ev_requests(draw, max_slots=50):
    slots = draw(st.integers(1, max_slots))
    return EvRequest(
        prices=draw(st.lists(price, min_size=slots, max_size=slots)),
        energy_wh=draw(st.integers(0, 80_000)),
        ready_by=draw(st.integers(0, slots)),
        max_power_w=draw(st.integers(0, 22_000)),
        headroom_w=draw(
            st.one_of(
                st.none(), st.lists(st.integers(-3000, 20_000), min_size=slots, max_size=slots)
            )
        ),
        price_cap=draw(st.one_of(st.none(), st.integers(-10, 60).map(D))),
    )


@settings(max_examples=150, deadline=None)
@given(ev_requests())
def test_every_plan_keeps_every_constraint(request_):
    plan = plan_ev(request_)
    assert len(plan.power_w) == len(request_.prices)
    for slot, (power, slot_price) in enumerate(zip(plan.power_w, request_.prices, strict=True)):
        assert 0 <= power <= request_.max_power_w
        if request_.headroom_w is not None:
            assert power <= max(request_.headroom_w[slot], 0)
        if slot >= request_.ready_by:
            assert power == 0
        if power and request_.price_cap is not None:
            assert slot_price is not None and slot_price <= request_.price_cap
    assert plan.delivered_wh <= request_.energy_wh
    assert plan.met == (plan.delivered_wh == request_.energy_wh)
    full = 2 * (request_.max_power_w // 2)
    priced_room = any(
        p is not None and w < full and s < request_.ready_by
        for s, (p, w) in enumerate(zip(request_.prices, plan.power_w, strict=True))
    )
    if request_.price_cap is not None:
        assert plan.unpriced_wh == 0
    elif plan.unpriced_wh and request_.headroom_w is None:
        assert not priced_room  # an unpriced slot only once every priced one is full


def _brute_force_cost(request_):
    """The least cost over every whole-kWh allocation (slots, energy and powers in kWh)."""
    room = [
        request_.max_power_w // 2000 if s < request_.ready_by and p is not None else 0
        for s, p in enumerate(request_.prices)
    ]
    need = request_.energy_wh // 1000
    best = None
    for choice in itertools.product(*(range(r + 1) for r in room)):
        if sum(choice) == need:
            cost = sum(c * p for c, p in zip(choice, request_.prices, strict=True) if c)
            best = cost if best is None else min(best, cost)
    return best


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5, 30).map(D), min_size=1, max_size=5),
    st.integers(0, 8),
    st.integers(1, 3),
    st.data(),
)
def test_it_is_as_cheap_as_the_brute_force_optimum(day, need_kwh, power_kw, data):
    ready_by = data.draw(st.integers(0, len(day)))
    request_ = EvRequest(
        prices=day, energy_wh=need_kwh * 1000, ready_by=ready_by, max_power_w=power_kw * 2000
    )
    best = _brute_force_cost(request_)
    plan = plan_ev(request_)
    if best is None:
        assert not plan.met
    else:
        assert plan.met
        assert plan.cost_pence == best
