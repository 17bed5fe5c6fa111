"""The flex portal pages without a browser: the home panel and the overview link each device's
plan page, the battery page's form goes through the schedule validator, and nobody else's
devices are reachable."""

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from batteries.models import Battery
from batteries.tests.factories import BatteryFactory
from charging.tests.factories import ChargerFactory
from flex.models import BatterySchedule

from .households import agile_household

pytestmark = pytest.mark.django_db


def test_the_home_panel_and_the_overview_link_every_device_to_its_plan(client):
    user = UserFactory()
    account = agile_household(user=user)
    charger = ChargerFactory(account=account)
    battery = BatteryFactory(account=account)
    client.force_login(user)
    home = client.get("/").content.decode()
    assert 'id="flex-panel-heading"' in home
    assert f'href="/flex/chargers/{charger.pk}/"' in home
    assert f'href="/flex/batteries/{battery.identifier}/"' in home
    overview = client.get("/flex/").content.decode()
    assert f'href="/flex/chargers/{charger.pk}/"' in overview and "no goal set" in overview
    assert f'href="/flex/batteries/{battery.identifier}/"' in overview
    assert 'href="/flex/">Smart charging</a>' in overview  # in the customer's menu
    client.force_login(UserFactory())
    assert 'id="flex-panel-heading"' not in client.get("/").content.decode()


def test_the_battery_page_sets_a_schedule_through_the_one_validator(client):
    user = UserFactory()
    battery = BatteryFactory(account=agile_household(user=user))
    Battery.objects.filter(pk=battery.pk).update(soc_percent=Decimal("50"))
    client.force_login(user)
    url = f"/flex/batteries/{battery.identifier}/"
    refused = client.post(url, {"enabled": "on", "target_soc_pct": "90", "reserve_pct": "250"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'id="reserve_pct-errors">Must be 0 to 100 %.</small>' in page
    assert not BatterySchedule.objects.exists()
    saved = client.post(
        url,
        {"enabled": "on", "reserve_pct": "30", "charge_limit_w": "2500", "discharge_limit_w": ""},
    )
    assert saved.status_code == 302
    schedule = BatterySchedule.objects.get(battery=battery)
    assert (schedule.reserve_pct, schedule.charge_limit_w, schedule.discharge_limit_w) == (
        30,
        2500,
        3000,
    )
    page = client.get(url).content.decode()
    assert 'id="plan-saving"' in page and 'id="plan-reserve">30 %<' in page
    assert "No target charge set." in page
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
