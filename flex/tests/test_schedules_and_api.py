"""Battery schedules through the expiring instructions, the household's shared headroom, and
the API's doors (bad input named by field, customers only on their own devices)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from batteries.models import Battery, BatteryInstruction, InstructionAction
from batteries.tests.factories import BatteryFactory
from charging.tests.factories import ChargerFactory
from flex import services
from flex.models import BatterySchedule

from .households import NOW, agile_household

pytestmark = pytest.mark.django_db


def _battery(account, soc="50"):
    battery = BatteryFactory(account=account)
    Battery.objects.filter(pk=battery.pk).update(soc_percent=Decimal(soc))
    battery.refresh_from_db()
    return battery


def test_the_battery_gets_this_half_hours_order_as_an_expiring_instruction():
    account = agile_household()
    battery = _battery(account)
    schedule = services.schedule_set(battery=battery, now=NOW, charge_limit_w=3000)
    plan = schedule.plans.latest()
    instruction = BatteryInstruction.objects.get(battery=battery)
    # 16:00 is the 40p peak: the unit covers the house (2 kW default load: 1 kWh a half-hour).
    assert plan.power_w[0] > 0
    assert instruction.action == InstructionAction.DISCHARGE
    assert instruction.power_kw == Decimal(plan.power_w[0]) / 1000
    assert instruction.expires_at <= timezone.now() + timedelta(minutes=36)
    assert all(Decimal(soc) >= battery.min_soc_reserve for soc in plan.soc_pct)


def test_the_battery_never_plans_into_the_headroom_the_ev_takes():
    account = agile_household()
    charger = ChargerFactory(account=account)
    goal = services.goal_set(
        charger=charger, now=NOW, ready_by="07:00", energy_wh=20_000, max_power_w=11_000
    )
    battery = _battery(account, soc="10")
    schedule = services.schedule_set(
        battery=battery, now=NOW, charge_limit_w=9000, discharge_limit_w=9000
    )
    ev = goal.plans.latest().power_w
    battery_plan = schedule.plans.latest().power_w
    assert any(power for power in ev)
    for slot, car in enumerate(ev):
        charging = -min(battery_plan[slot], 0)
        assert charging + car <= 13_800 - 2_000  # the limit less the house's forecast load
    assert min(battery_plan) < 0  # it still charges, in what the car leaves


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"energy_wh": 1000}, "ready_by"),
        ({"ready_by": "7 o'clock", "energy_wh": 1000}, "ready_by"),
        ({"ready_by": "07:00"}, "energy_wh"),
        ({"ready_by": "07:00", "energy_wh": 1000, "target_soc_pct": 80}, "energy_wh"),
        ({"ready_by": "07:00", "target_soc_pct": 80}, "vehicle_capacity_wh"),
        ({"ready_by": "07:00", "energy_wh": -5}, "energy_wh"),
        ({"ready_by": "07:00", "energy_wh": 1000, "max_power_w": 10**9}, "max_power_w"),
        ({"ready_by": "07:00", "energy_wh": 1000, "price_cap": "NaN"}, "price_cap"),
        ({"ready_by": "07:00", "energy_wh": 1000, "price_cap": "1.0001"}, "price_cap"),
        ({"ready_by": "07:00", "energy_wh": 1000, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_goal_is_refused_naming_the_field(api, body, field):
    user = UserFactory()
    charger = ChargerFactory(account=agile_household(user=user))
    answer = api.as_user(user).put(f"/api/v1/chargers/{charger.pk}/goal", body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["fields"]


def test_a_customer_sets_and_reads_their_goal_and_nobody_else_can(api):
    user = UserFactory()
    charger = ChargerFactory(account=agile_household(user=user))
    url = f"/api/v1/chargers/{charger.pk}/goal"
    answer = api.as_user(user).put(url, {"ready_by": "07:00", "energy_wh": 8000}, format="json")
    assert answer.status_code == 200, answer.content
    goal = answer.json()
    assert goal["state"] == "fallback"  # the test charger is not connected
    assert len(goal["plan"]["slots"]) >= 1
    assert goal["plan"]["needed_wh"] == 8000
    assert api.as_user(user).get(url).json()["ready_by"] == "07:00:00"
    stranger = UserFactory()
    agile_household(user=stranger)
    assert api.as_user(stranger).get(url).status_code == 404
    assert api.as_user(stranger).put(url, {"ready_by": "07:00"}, format="json").status_code == 404
    assert api.as_user(user).delete(url).status_code == 204
    assert api.as_user(user).get(url).status_code == 404


def test_a_customer_puts_their_battery_under_the_planner(api):
    user = UserFactory()
    battery = _battery(agile_household(user=user))
    url = f"/api/v1/batteries/{battery.identifier}/schedule"
    bad = api.as_user(user).put(url, {"target_soc_pct": 90}, format="json")
    assert bad.status_code == 400 and "target_soc_pct" in bad.json()["fields"]
    answer = api.as_user(user).put(
        url, {"target_soc_pct": 90, "target_time": "16:00", "reserve_pct": 20}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["plan"]["slots"]
    assert BatterySchedule.objects.get(battery=battery).reserve_pct == 20
    assert api.as_user(UserFactory()).get(url).status_code == 404


def test_the_portal_form_sets_a_goal_and_shows_the_plan_and_its_costs(client):
    user = UserFactory()
    charger = ChargerFactory(account=agile_household(user=user))
    client.force_login(user)
    url = f"/flex/chargers/{charger.pk}/"
    refused = client.post(url, {"ready_by": "07:00", "energy_wh": "-1", "max_power_w": "7400"})
    assert refused.status_code == 400
    assert b"Must be 1 to 200000 Wh" in refused.content
    saved = client.post(url, {"ready_by": "07:00", "energy_wh": "9000", "max_power_w": "7400"})
    assert saved.status_code == 302
    page = client.get(url)
    assert b"Projected cost" in page.content and b"charging now would cost" in page.content
    assert b'id="plan-data"' in page.content
    assert b"charges at once" in page.content  # the test charger is not connected: told so
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
