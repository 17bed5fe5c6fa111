from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from batteries.models import Battery, BatteryReading
from batteries.tests.factories import BatteryFactory, reading

pytestmark = pytest.mark.django_db


def _new_battery_body(account, **overrides):
    return {
        "account": account.account_number,
        "location": "Garage",
        "postcode": "N1 9GU",
        "capacity_kwh": "10.00",
        "vendor": "Acme",
        "model": "PowerBox 10",
        "ip_address": "192.0.2.7",
    } | overrides


def test_it_creates_a_battery_for_staff(api, staff, customer):
    account = customer.customer_accounts.get()

    response = api.as_user(staff).post("/api/v1/batteries", _new_battery_body(account))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["identifier"] == "N1-0001-10"
    assert body["account"] == account.account_number
    assert body["status"] == "offline"
    assert Battery.objects.get().identifier == "N1-0001-10"


def test_it_refuses_creation_by_a_customer(api, customer):
    account = customer.customer_accounts.get()

    response = api.as_user(customer).post("/api/v1/batteries", _new_battery_body(account))

    assert response.status_code == 403
    assert not Battery.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("capacity_kwh", "0"), ("ip_address", "10.0.0.300"), ("postcode", "XYZ")],
)
def test_it_answers_400_naming_the_field_for_a_bad_battery(api, staff, customer, field, value):
    account = customer.customer_accounts.get()

    response = api.as_user(staff).post(
        "/api/v1/batteries", _new_battery_body(account, **{field: value})
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Battery.objects.exists()


def test_it_gets_a_battery_by_uuid_or_identifier(api, customer):
    battery = BatteryFactory(account=customer.customer_accounts.get())
    client = api.as_user(customer)

    by_uuid = client.get(f"/api/v1/batteries/{battery.pk}")
    by_identifier = client.get(f"/api/v1/batteries/{battery.identifier.lower()}")

    assert by_uuid.status_code == by_identifier.status_code == 200
    assert by_uuid.json()["id"] == by_identifier.json()["id"] == str(battery.pk)


def test_it_hides_another_accounts_battery_from_a_customer(api, customer):
    mine = BatteryFactory(account=customer.customer_accounts.get())
    theirs = BatteryFactory(account=CustomerAccountFactory())
    client = api.as_user(customer)

    listed = client.get("/api/v1/batteries").json()
    fetched = client.get(f"/api/v1/batteries/{theirs.identifier}")
    telemetry = client.post(f"/api/v1/batteries/{theirs.pk}/telemetry", reading())
    history = client.get(f"/api/v1/batteries/{theirs.pk}/history")

    assert [b["identifier"] for b in listed["results"]] == [mine.identifier]
    assert client.get("/api/v1/batteries/count").json() == {"count": 1}
    assert fetched.status_code == telemetry.status_code == history.status_code == 404
    assert not BatteryReading.objects.filter(battery=theirs).exists()


def test_it_shows_analysts_no_battery_rows(api, analyst):
    BatteryFactory()

    assert api.as_user(analyst).get("/api/v1/batteries").status_code == 403


def test_it_filters_and_counts_the_fleet(api, staff):
    garage = BatteryFactory(location="Garage", postcode="N1 9GU")
    loft = BatteryFactory(location="Loft", postcode="E8 1AA")
    Battery.objects.filter(pk=loft.pk).update(flag="warning", status="idle")
    client = api.as_user(staff)

    def identifiers(query):
        return [b["identifier"] for b in client.get(f"/api/v1/batteries?{query}").json()["results"]]

    assert identifiers("identifier=n1-") == [garage.identifier]
    assert identifiers("location=lo") == [loft.identifier]
    assert identifiers("status=idle") == [loft.identifier]
    assert identifiers("flag=warning") == [loft.identifier]
    assert identifiers(f"account={garage.account.account_number}") == [garage.identifier]
    assert client.get("/api/v1/batteries/count?status=offline").json() == {"count": 1}
    assert client.get("/api/v1/batteries?status=melting").status_code == 400


def test_it_deletes_one_battery_for_staff_only(api, staff, customer, settings, tmp_path):
    settings.BATTERIES_ARCHIVE_DIR = tmp_path
    battery = BatteryFactory(account=customer.customer_accounts.get())

    refused = api.as_user(customer).delete(f"/api/v1/batteries/{battery.pk}")
    deleted = api.as_user(staff).delete(f"/api/v1/batteries/{battery.identifier}")

    assert refused.status_code == 403
    assert deleted.status_code == 200
    assert deleted.json()["deleted_batteries"] == 1
    assert not Battery.objects.exists()


def test_it_deletes_all_only_with_confirmation_after_archiving(api, staff, settings, tmp_path):
    settings.BATTERIES_ARCHIVE_DIR = tmp_path
    batteries = [BatteryFactory(), BatteryFactory(postcode="E8 1AA")]
    start = timezone.now() - timedelta(minutes=30)
    for battery in batteries:
        for minute in range(3):
            at = (start + timedelta(minutes=minute)).isoformat()
            api.as_user(staff).post(
                f"/api/v1/batteries/{battery.pk}/telemetry", reading(timestamp=at)
            )
    client = api.as_user(staff)

    unconfirmed = client.delete("/api/v1/batteries")
    wrong = client.delete("/api/v1/batteries?confirm=yes")
    assert unconfirmed.status_code == wrong.status_code == 400
    assert "confirm=delete-all-batteries" in wrong.json()["detail"]
    assert Battery.objects.count() == 2

    response = client.delete("/api/v1/batteries?confirm=delete-all-batteries")

    assert response.status_code == 200
    body = response.json()
    assert body["deleted_batteries"] == 2
    assert body["archived_readings"] == 6
    assert not Battery.objects.exists() and not BatteryReading.objects.exists()
    rows = (tmp_path / body["archive_folder"] / "readings.csv").read_text().splitlines()
    assert len(rows) == 7
    assert {b.identifier for b in batteries} == {row.split(",")[1] for row in rows[1:]}


def test_it_refuses_delete_all_to_customers(api, customer):
    BatteryFactory(account=customer.customer_accounts.get())

    response = api.as_user(customer).delete("/api/v1/batteries?confirm=delete-all-batteries")

    assert response.status_code == 403
    assert Battery.objects.count() == 1


def test_it_needs_authentication(api):
    assert api.get("/api/v1/batteries").status_code == 401


def test_it_answers_404_for_an_unknown_battery(api, staff):
    client = api.as_user(staff)

    assert client.get("/api/v1/batteries/N1-FFFF-10").status_code == 404
    assert client.get("/api/v1/batteries/6f1c2a4e-0000-4000-8000-000000000000").status_code == 404


def test_it_lets_a_second_login_of_the_same_account_see_the_battery(api, customer):
    account = customer.customer_accounts.get()
    partner = UserFactory()
    account.users.add(partner)
    battery = BatteryFactory(account=account)

    assert api.as_user(partner).get(f"/api/v1/batteries/{battery.pk}").status_code == 200
