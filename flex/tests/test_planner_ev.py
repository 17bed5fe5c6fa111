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


# A charger's minimum power (OCPP chargers do not charge below about 6 A): each row worked by
# hand, as (request, power per slot in W, cost in pence, delivered Wh).
MIN_POWER_TABLE = [
    # 4 kWh at up to 7.4 kW: the cheapest fill is 3.7 kWh at 10p and 0.3 kWh at 20p, under the
    # 1.38 kW minimum (0.69 kWh a half-hour): 0.39 kWh moves into the 20p half-hour from the 10p
    # one. 3.31 kWh x 10p + 0.69 kWh x 20p = 33.1p + 13.8p.
    (
        EvRequest(
            prices=prices((1, "10"), (1, "20"), (1, "30")),
            energy_wh=4_000,
            ready_by=3,
            max_power_w=7400,
            min_power_w=1380,
        ),
        (6620, 1380, 0),
        D("46.9"),
        4_000,
    ),
    # 0.5 kWh is less than one half-hour at the minimum: the cheapest half-hour at 1.38 kW,
    # 0.69 kWh (a little more than asked rather than nothing): 0.69 x 10p.
    (
        EvRequest(
            prices=prices((1, "20"), (1, "10")),
            energy_wh=500,
            ready_by=2,
            max_power_w=7400,
            min_power_w=1380,
        ),
        (0, 1380),
        D("6.9"),
        690,
    ),
    # The house leaves 1 kW in the 5p half-hour, under the minimum: the charger would not start
    # there, so 3 kWh go in the 10p one (30p; 27.5p if 1 kW were usable).
    (
        EvRequest(
            prices=prices((1, "5"), (1, "10"), (1, "20")),
            energy_wh=3_000,
            ready_by=3,
            max_power_w=7400,
            headroom_w=[1000, 7400, 7400],
            min_power_w=1380,
        ),
        (0, 6000, 0),
        D("30"),
        3_000,
    ),
    # 7.5 kWh at 3.7 kW max (1.85 kWh a half-hour), 2.8 kW min (1.4 kWh): the fill is 1.85 kWh
    # in each of the 1p-4p half-hours and 0.1 kWh in the 30p one; 1.3 kWh moves into it from the
    # dearest full ones, each down to 1.4 kWh: 0.45 from the 4p, 0.45 from the 3p, 0.4 from the 2p.
    (
        EvRequest(
            prices=prices((1, "1"), (1, "2"), (1, "3"), (1, "4"), (1, "30")),
            energy_wh=7_500,
            ready_by=5,
            max_power_w=3700,
            min_power_w=2800,
        ),
        (3700, 2900, 2800, 2800, 2800),
        D("1.85") + D("1.45") * 2 + D("1.4") * 3 + D("1.4") * 4 + D("1.4") * 30,
        7_500,
    ),
]


@pytest.mark.parametrize(("request_", "power", "cost", "delivered"), MIN_POWER_TABLE)
def test_a_half_hour_is_either_off_or_at_least_the_chargers_minimum(
    request_, power, cost, delivered
):
    plan = plan_ev(request_)
    assert plan.power_w == power
    assert plan.cost_pence == cost
    assert plan.delivered_wh == delivered
    assert plan.met


def test_a_charger_whose_maximum_is_under_its_minimum_plans_nothing():
    plan = plan_ev(
        EvRequest(
            prices=prices((4, "10")), energy_wh=1000, ready_by=4, max_power_w=1000, min_power_w=1380
        )
    )
    assert plan.power_w == (0, 0, 0, 0)
    assert not plan.met and plan.reason == "charger_power"


def test_the_minimum_in_a_partial_first_half_hour_is_the_minimum_power_for_what_is_left():
    # A third of the 5p half-hour is left: 1380 W for 10 minutes is 230 Wh; 7.4 kW for 10 min
    # is 1233 Wh (the services pass it as the slot's headroom).
    plan = plan_ev(
        EvRequest(
            prices=prices((1, "5"), (1, "10")),
            energy_wh=300,
            ready_by=2,
            max_power_w=7400,
            headroom_w=[1233, 7400],
            min_power_w=1380,
            first_slot_fraction=1 / 3,
        )
    )
    assert plan.energy_wh == (300, 0)


@st.composite
def ev_requests_with_minimum(draw):
    request_ = draw(ev_requests(max_slots=30))
    return EvRequest(
        prices=request_.prices,
        energy_wh=request_.energy_wh,
        ready_by=request_.ready_by,
        max_power_w=request_.max_power_w,
        headroom_w=request_.headroom_w,
        price_cap=request_.price_cap,
        min_power_w=draw(st.integers(0, 11_000)),
    )


@settings(max_examples=150, deadline=None)
@given(ev_requests_with_minimum())
def test_every_plan_with_a_minimum_power_keeps_every_constraint(request_):
    plan = plan_ev(request_)
    least = request_.min_power_w // 2
    room = []
    for slot, slot_price in enumerate(request_.prices):
        wh = request_.max_power_w // 2 if slot < request_.ready_by else 0
        if request_.headroom_w is not None:
            wh = min(wh, max(request_.headroom_w[slot], 0) // 2)
        capped = request_.price_cap is not None and (
            slot_price is None or slot_price > request_.price_cap
        )
        room.append(0 if wh < least or capped else wh)
    for energy, usable in zip(plan.energy_wh, room, strict=True):
        assert energy == 0 or least <= energy <= usable
    # The goal is met whenever the usable half-hours can hold it, never by more than the minimum.
    assert plan.met == (sum(room) >= request_.energy_wh)
    assert plan.delivered_wh <= max(request_.energy_wh, 0) + least


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 30).map(D), min_size=1, max_size=5),
    st.integers(0, 8),
    st.integers(1, 3),
    st.data(),
)
def test_with_a_minimum_it_is_as_cheap_as_the_brute_force_optimum(day, need_kwh, power_kw, data):
    """Whole kWh: each slot 0 or min..max kWh; the least cost of delivering at least the need."""
    ready_by = data.draw(st.integers(0, len(day)))
    least_kwh = data.draw(st.integers(1, power_kw))
    request_ = EvRequest(
        prices=day,
        energy_wh=need_kwh * 1000,
        ready_by=ready_by,
        max_power_w=power_kw * 2000,
        min_power_w=least_kwh * 2000,
    )
    choices = [
        [0, *range(least_kwh, power_kw + 1)] if slot < ready_by else [0] for slot in range(len(day))
    ]
    costs = [
        sum(kwh * p for kwh, p in zip(choice, day, strict=True))
        for choice in itertools.product(*choices)
        if sum(choice) >= need_kwh
    ]
    plan = plan_ev(request_)
    if not costs:
        assert not plan.met
    else:
        assert plan.met
        assert plan.cost_pence == min(costs)
