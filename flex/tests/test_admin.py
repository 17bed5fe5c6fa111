"""Flex in the admin: goals and schedules through the services' validators, plans read-only."""

import pytest

from charging.tests.factories import ChargerFactory
from flex import services
from flex.models import ChargingGoal, Household

from .households import NOW, agile_household

pytestmark = pytest.mark.django_db


def _goal_form(charger, **values):
    return {
        "charger": charger.pk,
        "connector_id": 1,
        "ready_by": "07:00",
        "energy_wh": "",
        "target_soc_pct": "",
        "vehicle_capacity_wh": "",
        "max_power_w": 7400,
        "min_power_w": 1380,
        "price_cap": "",
        **values,
    }


def test_staff_set_a_goal_in_the_admin_through_the_one_validator(client, staff):
    client.force_login(staff)
    charger = ChargerFactory(account=agile_household())
    url = "/admin/flex/charginggoal/add/"
    refused = client.post(url, _goal_form(charger, energy_wh="", target_soc_pct=""))
    assert refused.status_code == 200
    assert "Give either energy_wh or target_soc_pct" in refused.content.decode()
    too_low = client.post(url, _goal_form(charger, energy_wh=5000, min_power_w=9000))
    assert "The minimum power must not exceed max_power_w." in too_low.content.decode()
    assert not ChargingGoal.objects.exists()
    saved = client.post(url, _goal_form(charger, energy_wh=5000))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    goal = ChargingGoal.objects.get(charger=charger)
    assert goal.plans.count() == 1  # set through goal_set: planned at once


def test_plans_are_read_only_and_every_flex_page_of_the_admin_opens(client, staff):
    client.force_login(staff)
    charger = ChargerFactory(account=agile_household())
    goal = services.goal_set(charger=charger, now=NOW, ready_by="07:00", energy_wh=5000)
    plan = goal.plans.latest()
    for model in ("charginggoal", "chargingplan", "batteryschedule", "batteryplan", "household"):
        assert client.get(f"/admin/flex/{model}/").status_code == 200, model
    assert client.get("/admin/flex/chargingplan/add/").status_code == 403
    page = client.get(f"/admin/flex/chargingplan/{plan.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_a_households_import_limit_is_refused_out_of_range(client, staff):
    client.force_login(staff)
    account = agile_household()
    url = "/admin/flex/household/add/"
    refused = client.post(url, {"account": account.pk, "import_limit_w": 500})
    assert refused.status_code == 200 and not Household.objects.exists()
    assert client.post(url, {"account": account.pk, "import_limit_w": 9200}).status_code == 302
    assert Household.objects.get(account=account).import_limit_w == 9200
