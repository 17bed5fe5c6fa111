"""The batteries admin creates and changes units through battery_create / battery_update, so it
refuses what the API refuses, on the field."""

from decimal import Decimal

import pytest

from batteries.models import Battery
from batteries.tests.factories import BatteryFactory

pytestmark = pytest.mark.django_db

INLINES = {
    "alerts-TOTAL_FORMS": "0",
    "alerts-INITIAL_FORMS": "0",
    "instructions-TOTAL_FORMS": "0",
    "instructions-INITIAL_FORMS": "0",
}


def _form(battery, **overrides) -> dict:
    return (
        {
            "account": str(battery.account_id),
            "location": battery.location,
            "postcode": battery.postcode,
            "ip_address": battery.ip_address or "",
            "vendor": battery.vendor,
            "model": battery.model,
            "min_soc_reserve": str(battery.min_soc_reserve),
            "max_soc_reserve": str(battery.max_soc_reserve),
        }
        | INLINES
        | overrides
    )


def test_it_changes_a_battery_through_the_service(client, staff):
    battery = BatteryFactory()
    client.force_login(staff)

    response = client.post(
        f"/admin/batteries/battery/{battery.pk}/change/",
        _form(battery, location="Loft", postcode="sw1a1aa", min_soc_reserve="25"),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    stored = Battery.objects.get(pk=battery.pk)
    assert (stored.location, stored.postcode, stored.min_soc_reserve) == (
        "Loft",
        "SW1A 1AA",
        Decimal("25"),
    )
    assert stored.identifier == battery.identifier


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"location": "   "}, "location"),
        ({"min_soc_reserve": "100", "max_soc_reserve": "100"}, "min_soc_reserve"),
        ({"min_soc_reserve": "150"}, "min_soc_reserve"),
    ],
)
def test_it_refuses_in_the_change_form_what_the_api_refuses(client, staff, overrides, field):
    battery = BatteryFactory()
    before = Battery.objects.filter(pk=battery.pk).values().get()
    client.force_login(staff)

    response = client.post(
        f"/admin/batteries/battery/{battery.pk}/change/", _form(battery, **overrides)
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Battery.objects.filter(pk=battery.pk).values().get() == before


def test_it_keeps_a_registered_batterys_capacity(client, staff):
    battery = BatteryFactory(capacity_kwh=Decimal("10"))
    client.force_login(staff)

    client.post(f"/admin/batteries/battery/{battery.pk}/change/", _form(battery, capacity_kwh="20"))

    assert Battery.objects.get(pk=battery.pk).capacity_kwh == Decimal("10")


def test_it_refuses_a_new_battery_the_service_refuses_on_its_field(client, staff):
    account = BatteryFactory().account
    client.force_login(staff)
    form = {
        "account": str(account.pk),
        "location": "   ",
        "postcode": "N1 9GU",
        "capacity_kwh": "10",
        "vendor": "Acme",
        "model": "PowerBox 10",
        "min_soc_reserve": "10",
        "max_soc_reserve": "100",
    }

    response = client.post("/admin/batteries/battery/add/", form)

    assert response.status_code == 200
    assert "location" in response.context["adminform"].form.errors
    assert Battery.objects.count() == 1
