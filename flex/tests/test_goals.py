"""Smart EV charging end to end: a goal on an agile tariff is planned into the cheapest
half-hours, sent to a connected charger as a SetChargingProfile in W, and a charger that rejects
it leaves the goal charging now with a notice for the customer."""

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from charging.models import ChargingProfile, CommandStatus
from charging.tests.conftest import db
from charging.tests.factories import ChargerFactory
from flex import services
from flex.models import ChargingGoal, Delivery, GoalState
from meters.models import MeterKind
from meters.tests.factories import MeterFactory, ReadingFactory

from .households import CHEAP_FROM, NOW, agile_household

pytestmark = pytest.mark.django_db(transaction=True)

GOAL = {"ready_by": "07:00", "energy_wh": 10_000, "max_power_w": 7400}


async def _settled(plan):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        plan = await db(services.plan_outcome_settle)(plan=plan)
        if plan.delivery != Delivery.PENDING:
            return plan
        await asyncio.sleep(0.05)
    raise AssertionError("the charger's answer never arrived")


async def _connected_household_charger(open_station):
    account = await db(agile_household)()
    charger = await db(ChargerFactory)(account=account)
    station = await open_station(charger)
    await db(charger.refresh_from_db)()
    return charger, station


async def test_it_sends_the_cheapest_half_hours_as_a_charging_profile_in_watts(open_station):
    charger, station = await _connected_household_charger(open_station)
    goal = await db(services.goal_set)(charger=charger, now=NOW, **GOAL)
    call = await station.receive_call()
    assert call[2] == "SetChargingProfile"
    profile = call[3]["csChargingProfiles"]
    assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
    schedule = profile["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "W"
    # 16:10 now; 00:00 is 7 h 50 min later: 3.7 + 3.7 + 2.6 kWh in the first three 5p half-hours.
    start = int((CHEAP_FROM - NOW).total_seconds())
    assert schedule["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 0.0},
        {"startPeriod": start, "limit": 7400.0},
        {"startPeriod": start + 3600, "limit": 5200.0},
        {"startPeriod": start + 5400, "limit": 0.0},
    ]
    assert schedule["duration"] == int((CHEAP_FROM + timedelta(hours=7) - NOW).total_seconds())
    await station.answer(call[1], {"status": "Accepted"})
    plan = await db(lambda: goal.plans.latest())()
    plan = await _settled(plan)
    assert plan.delivery == Delivery.ACCEPTED
    assert plan.cost_pence == Decimal("52.5")  # 10 kWh at 5p + 5 % VAT
    assert plan.charge_now_cost_pence > plan.cost_pence
    assert await db(ChargingProfile.objects.filter(charger=charger).exists)()
    goal = await db(ChargingGoal.objects.get)(pk=goal.pk)
    assert goal.state == GoalState.PLANNED and goal.notice == ""


async def test_a_charger_that_rejects_the_profile_charges_now_and_the_customer_is_told(
    open_station,
):
    charger, station = await _connected_household_charger(open_station)
    goal = await db(services.goal_set)(charger=charger, now=NOW, **GOAL)
    call = await station.receive_call()
    await station.answer(call[1], {"status": "Rejected"})
    plan = await _settled(await db(lambda: goal.plans.latest())())
    assert plan.delivery == Delivery.REFUSED
    assert (await db(lambda: plan.command.status)()) == CommandStatus.REJECTED
    goal = await db(ChargingGoal.objects.get)(pk=goal.pk)
    assert goal.state == GoalState.FALLBACK
    assert "rejected the profile" in goal.notice and "charges at once" in goal.notice


async def test_a_charger_that_is_not_connected_falls_back_at_once():
    account = await db(agile_household)()
    charger = await db(ChargerFactory)(account=account)
    goal = await db(services.goal_set)(charger=charger, now=NOW, **GOAL)
    assert goal.state == GoalState.FALLBACK
    assert "not connected" in goal.notice


async def test_charge_now_clears_the_profile_and_plans_from_now(open_station):
    charger, station = await _connected_household_charger(open_station)
    goal = await db(services.goal_set)(charger=charger, now=NOW, **GOAL | {"charge_now": True})
    call = await station.receive_call()
    assert call[2] == "ClearChargingProfile"
    assert call[3] == {"id": goal.profile_id}
    await station.answer(call[1], {"status": "Accepted"})
    plan = await db(lambda: goal.plans.latest())()
    assert plan.power_w[:3] == [round(7400 * 20 / 30) // 2 * 2, 7400, 7400]
    assert goal.state == GoalState.CHARGE_NOW


def test_the_plan_leaves_room_for_what_the_house_draws_now():
    account = agile_household()
    meter = MeterFactory(account=account, kind=MeterKind.LIVE)
    ReadingFactory(meter=meter, at=NOW - timedelta(minutes=1), power_w=12_000)
    charger = ChargerFactory(account=account)
    goal = services.goal_set(
        charger=charger, now=NOW, ready_by="17:00", energy_wh=5_000, max_power_w=7400
    )
    plan = goal.plans.latest()
    # 13.8 kW limit - 12 kW drawn: 1.8 kW of headroom (two-thirds of it left in the 16:00 slot).
    assert plan.power_w == [1200, 1800]
    assert not plan.met
    assert "import limit" in plan.reason


def test_a_re_plan_that_changes_nothing_sends_nothing_again():
    account = agile_household()
    charger = ChargerFactory(account=account)
    goal = services.goal_set(charger=charger, now=NOW, **GOAL)
    first = goal.plans.latest()
    first.delivery = Delivery.ACCEPTED
    first.save()
    second = services.goal_replan(goal=goal, now=NOW + timedelta(minutes=5))
    assert second.command_id == first.command_id
    assert second.delivery == Delivery.ACCEPTED
