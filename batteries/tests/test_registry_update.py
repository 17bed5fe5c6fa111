"""battery_update and PATCH /api/v1/batteries/{key}: a registered unit's registry fields change
under the rules its creation keeps; its identifier (and the capacity it names) never changes."""

from decimal import Decimal

import pytest

from accounts.tests.factories import CustomerAccountFactory
from batteries import services
from batteries.models import Battery
from batteries.tests.factories import BatteryFactory
from config.exceptions import InvalidInput

pytestmark = pytest.mark.django_db


def test_it_changes_only_the_fields_given_and_keeps_the_identifier():
    battery = BatteryFactory(postcode="N1 9GU", location="Garage")
    other = CustomerAccountFactory()

    updated = services.battery_update(
        battery=battery, location="  Loft ", postcode="sw1a1aa", account=other
    )

    stored = Battery.objects.get(pk=battery.pk)
    assert (stored.location, stored.postcode, stored.account) == ("Loft", "SW1A 1AA", other)
    assert stored.identifier == battery.identifier == updated.identifier
    assert stored.vendor == "Acme"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"postcode": "XYZ"}, "postcode"),
        ({"location": "   "}, "location"),
        ({"min_soc_reserve": Decimal("101")}, "min_soc_reserve"),
        ({"min_soc_reserve": Decimal("100")}, "min_soc_reserve"),  # not below the stored max
        ({"max_soc_reserve": Decimal("5")}, "min_soc_reserve"),  # under the stored min (10)
        ({"capacity_kwh": Decimal("20")}, "capacity_kwh"),
        ({"identifier": "N1-FFFF-10"}, "identifier"),
    ],
)
def test_it_refuses_a_change_naming_the_field(changes, field):
    battery = BatteryFactory()
    before = Battery.objects.filter(pk=battery.pk).values().get()

    with pytest.raises(InvalidInput) as refused:
        services.battery_update(battery=battery, **changes)

    assert field in refused.value.errors
    assert Battery.objects.filter(pk=battery.pk).values().get() == before


def test_it_patches_a_battery_for_staff(api, staff):
    battery = BatteryFactory()

    response = api.as_user(staff).patch(
        f"/api/v1/batteries/{battery.identifier}",
        {"location": "Shed", "min_soc_reserve": "20", "ip_address": None},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["location"], body["identifier"], body["ip_address"]) == (
        "Shed",
        battery.identifier,
        None,
    )
    assert Battery.objects.get(pk=battery.pk).min_soc_reserve == Decimal("20")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"postcode": "XYZ"}, "postcode"),
        ({"min_soc_reserve": "90", "max_soc_reserve": "80"}, "min_soc_reserve"),
        ({"ip_address": "10.0.0.300"}, "ip_address"),
        ({"capacity_kwh": "20"}, "capacity_kwh"),
        ({"account": "HG-NO-SUCH"}, "account"),
    ],
)
def test_it_answers_400_naming_the_field_for_a_bad_change(api, staff, body, field):
    battery = BatteryFactory()
    before = Battery.objects.filter(pk=battery.pk).values().get()

    response = api.as_user(staff).patch(f"/api/v1/batteries/{battery.pk}", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert Battery.objects.filter(pk=battery.pk).values().get() == before


def test_it_refuses_a_change_by_the_batterys_customer(api, customer):
    battery = BatteryFactory(account=customer.customer_accounts.get())

    response = api.as_user(customer).patch(
        f"/api/v1/batteries/{battery.pk}", {"location": "Shed"}, format="json"
    )

    assert response.status_code == 403
    assert Battery.objects.get(pk=battery.pk).location == "Garage"


def test_it_answers_404_for_an_unknown_battery(api, staff):
    response = api.as_user(staff).patch(
        "/api/v1/batteries/N1-FFFF-10", {"location": "Shed"}, format="json"
    )

    assert response.status_code == 404
