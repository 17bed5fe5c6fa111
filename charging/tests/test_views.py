"""The customer's portal pages and home panel."""

import pytest

from accounts.tests.factories import CustomerAccountFactory
from charging.models import ChargerCommand, CommandStatus, Connector

from .factories import ChargerFactory, IdTagFactory

pytestmark = pytest.mark.django_db


def test_it_shows_a_customer_their_charger_and_its_live_state(client, customer):
    account = customer.customer_accounts.get()
    charger = ChargerFactory(charge_point_id="HOME-1", account=account, connected=True)
    Connector.objects.create(charger=charger, connector_id=1, status="Charging", live_power_w=7200)
    ChargerFactory(charge_point_id="NEXT-DOOR", account=CustomerAccountFactory())
    client.force_login(customer)
    listing = client.get("/charging/").content.decode()
    assert "HOME-1" in listing and "NEXT-DOOR" not in listing
    detail = client.get(f"/charging/{charger.pk}/").content.decode()
    assert "Charging" in detail and "7200 W" in detail


def test_it_hides_another_customers_charger_page(client, customer):
    other = ChargerFactory(account=CustomerAccountFactory())
    client.force_login(customer)
    assert client.get(f"/charging/{other.pk}/").status_code == 404
    assert client.post(f"/charging/{other.pk}/start", {"id_tag": "X"}).status_code == 404


def test_it_starts_with_the_customers_own_tag_and_says_when_the_charger_is_offline(
    client, customer
):
    account = customer.customer_accounts.get()
    charger = ChargerFactory(account=account)
    IdTagFactory(id_tag="MYCARD", account=account)
    IdTagFactory(id_tag="NOTMINE", account=CustomerAccountFactory())
    client.force_login(customer)
    refused = client.post(f"/charging/{charger.pk}/start", {"id_tag": "NOTMINE"}, follow=True)
    assert "own tags" in refused.content.decode()
    assert not ChargerCommand.objects.exists()
    sent = client.post(
        f"/charging/{charger.pk}/start", {"id_tag": "MYCARD", "connector_id": "1"}, follow=True
    )
    assert "offline" in sent.content.decode()
    command = ChargerCommand.objects.get()
    assert (command.operation, command.status, command.payload) == (
        "RemoteStartTransaction",
        CommandStatus.OFFLINE,
        {"connectorId": 1, "idTag": "MYCARD"},
    )


def test_it_shows_the_charging_panel_on_a_customers_home_page(client, customer):
    ChargerFactory(charge_point_id="HOME-9", account=customer.customer_accounts.get())
    client.force_login(customer)
    assert "HOME-9" in client.get("/").content.decode()


def test_it_leaves_the_panel_out_for_a_customer_without_chargers(client, customer):
    client.force_login(customer)
    assert "EV charging" not in client.get("/").content.decode()
