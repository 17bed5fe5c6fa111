"""Staff's admin: chargers with live state, the frame log, actions through the services."""

import pytest
from django.utils import timezone

from charging.models import Charger, ChargerCommand, CommandStatus, OcppMessage, Transaction

from .factories import ChargerFactory

pytestmark = pytest.mark.django_db


def test_it_adds_a_charger_with_a_hashed_password(client, staff):
    client.force_login(staff)
    response = client.post(
        "/admin/charging/charger/add/",
        {
            "charge_point_id": "NEW-1",
            "registration": "Accepted",
            "new_password": "s3cret-password-16",
            "connectors-TOTAL_FORMS": "0",
            "connectors-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    charger = Charger.objects.get(charge_point_id="NEW-1")
    assert charger.password_hash and "s3cret" not in charger.password_hash
    assert charger.check_password("s3cret-password-16")


def test_it_lists_chargers_and_each_ones_frame_log(client, staff):
    charger = ChargerFactory(charge_point_id="LOGGED", connected=True)
    OcppMessage.objects.create(
        charger=charger,
        charge_point_id="LOGGED",
        direction="in",
        action="Heartbeat",
        frame='[2,"abc","Heartbeat",{}]',
    )
    client.force_login(staff)
    assert "LOGGED" in client.get("/admin/charging/charger/").content.decode()
    log = client.get(f"/admin/charging/ocppmessage/?charger__id__exact={charger.pk}")
    assert log.status_code == 200 and "Heartbeat" in log.content.decode()


def test_it_sends_a_reset_from_the_admin_action_through_the_service(client, staff):
    charger = ChargerFactory()
    client.force_login(staff)
    client.post(
        "/admin/charging/charger/",
        {"action": "reset_soft", "_selected_action": [charger.pk]},
    )
    command = ChargerCommand.objects.get()
    assert (command.operation, command.payload, command.status) == (
        "Reset",
        {"type": "Soft"},
        CommandStatus.OFFLINE,
    )
    assert command.requested_by == staff


def test_it_accepts_a_pending_charger_from_the_admin(client, staff):
    charger = ChargerFactory(registration="Pending")
    client.force_login(staff)
    client.post("/admin/charging/charger/", {"action": "accept", "_selected_action": [charger.pk]})
    charger.refresh_from_db()
    assert charger.registration == "Accepted"
    assert not ChargerCommand.objects.exists(), "an offline charger learns at its next boot"


def test_it_asks_a_connected_charger_to_boot_again_when_staff_accept_it(client, staff):
    charger = ChargerFactory(registration="Pending", connected=True, channel_name="ocpp.test")
    client.force_login(staff)
    client.post("/admin/charging/charger/", {"action": "accept", "_selected_action": [charger.pk]})
    command = ChargerCommand.objects.get()
    assert (command.operation, command.payload) == (
        "TriggerMessage",
        {"requestedMessage": "BootNotification"},
    )


def _change_form(charger, **overrides) -> dict:
    return {
        "account": "",
        "registration": charger.registration,
        "new_password": "",
        "connectors-TOTAL_FORMS": "0",
        "connectors-INITIAL_FORMS": "0",
    } | overrides


def test_it_accepts_a_connected_charger_through_the_service_which_asks_it_to_boot(client, staff):
    charger = ChargerFactory(
        registration="Pending", connected=True, channel_name="specific.node-a!socket-1"
    )
    client.force_login(staff)

    response = client.post(
        f"/admin/charging/charger/{charger.pk}/change/",
        _change_form(charger, registration="Accepted"),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    charger.refresh_from_db()
    assert charger.registration == "Accepted"
    command = ChargerCommand.objects.get()
    assert (command.operation, command.payload, command.requested_by) == (
        "TriggerMessage",
        {"requestedMessage": "BootNotification"},
        staff,
    )


def test_it_refuses_in_the_change_form_what_the_api_refuses(client, staff):
    charger = ChargerFactory(registration="Pending", password="")
    client.force_login(staff)

    response = client.post(
        f"/admin/charging/charger/{charger.pk}/change/",
        _change_form(charger, registration="Accepted"),
    )

    assert response.status_code == 200
    assert "new_password" in response.context["adminform"].form.errors
    charger.refresh_from_db()
    assert charger.registration == "Pending"


def test_it_keeps_a_chargers_identity_read_only_once_registered(client, staff):
    charger = ChargerFactory(charge_point_id="FIXED-1")
    client.force_login(staff)

    client.post(
        f"/admin/charging/charger/{charger.pk}/change/",
        _change_form(charger, charge_point_id="RENAMED-1"),
    )

    charger.refresh_from_db()
    assert charger.charge_point_id == "FIXED-1"


def test_it_offers_no_deletion_of_charging_transactions(client, staff):
    session = Transaction.objects.create(
        charger=ChargerFactory(),
        connector_id=1,
        id_tag="TAG1",
        authorization_status="Accepted",
        meter_start_wh=0,
        started_at=timezone.now(),
    )
    client.force_login(staff)

    listing = client.get("/admin/charging/transaction/").content.decode()
    delete = client.post(
        f"/admin/charging/transaction/{session.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert "delete_selected" not in listing and "kept for audit" in listing
    assert "kept for audit" in delete.content.decode()
    assert Transaction.objects.filter(pk=session.pk).exists()


def test_it_keeps_a_connected_charger_deleted_in_the_admin_as_the_api_does(client, staff):
    charger = ChargerFactory(connected=True, channel_name="specific.node-a!socket-1")
    client.force_login(staff)

    response = client.post(
        f"/admin/charging/charger/{charger.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert "is connected" in response.content.decode()
    assert Charger.objects.filter(pk=charger.pk).exists()


def test_it_deletes_a_charger_registered_by_mistake(client, staff):
    charger = ChargerFactory()
    client.force_login(staff)

    response = client.post(f"/admin/charging/charger/{charger.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Charger.objects.filter(pk=charger.pk).exists()


def test_it_names_anomalies_and_local_list_entries_in_plain_english(client, staff):
    client.force_login(staff)

    index = client.get("/admin/").content.decode()

    assert "Anomalies" in index and "Anomalys" not in index
    assert "Local auth list entries" in index and "entrys" not in index
