"""Staff's admin: chargers with live state, the frame log, actions through the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from charging.models import (
    Charger,
    ChargerCommand,
    ChargingProfile,
    CommandStatus,
    Connector,
    OcppMessage,
    Reservation,
    Transaction,
)

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


def test_it_shows_each_connectors_status_in_the_charger_list_in_one_query(
    client, staff, django_assert_max_num_queries
):
    for n in range(3):
        charger = ChargerFactory(charge_point_id=f"TWIN-{n}")
        Connector.objects.create(charger=charger, connector_id=0, status="Available")
        Connector.objects.create(charger=charger, connector_id=1, status="Charging")
        Connector.objects.create(charger=charger, connector_id=2, status="Available")
    client.force_login(staff)
    client.get("/admin/charging/charger/")  # warm the session and content types

    with django_assert_max_num_queries(12) as captured:
        page = client.get("/admin/charging/charger/").content.decode()

    assert page.replace("\N{NO-BREAK SPACE}", " ").count("1: Charging, 2: Available") == 3
    assert sum("charging_connector" in q["sql"] for q in captured.captured_queries) == 1


@pytest.mark.parametrize(
    ("version", "sent"),
    [
        ("1.6", {"connectorId": 2}),
        ("2.0.1", {"evseId": 2, "connectorId": 1}),
    ],
)
def test_it_unlocks_the_connector_named_beside_the_action(client, staff, version, sent):
    charger = ChargerFactory(ocpp_version=version)
    client.force_login(staff)

    client.post(
        "/admin/charging/charger/",
        {"action": "unlock_connector", "connector_id": "2", "_selected_action": [charger.pk]},
    )

    command = ChargerCommand.objects.get()
    assert (command.operation, command.payload, command.requested_by) == (
        "UnlockConnector",
        sent,
        staff,
    )


def test_it_sends_no_unlock_without_a_connector_number(client, staff):
    charger = ChargerFactory()
    client.force_login(staff)

    response = client.post(
        "/admin/charging/charger/",
        {"action": "unlock_connector", "connector_id": "", "_selected_action": [charger.pk]},
        follow=True,
    )

    assert "enter the connector" in response.content.decode()
    assert not ChargerCommand.objects.exists()


def _reservation_form(charger, **overrides) -> dict:
    expires = timezone.localtime() + timedelta(hours=2)
    return {
        "charger": charger.pk,
        "connector_id": "1",
        "id_tag": "DRIVER-1",
        "parent_id_tag": "",
        "expires_at_0": expires.strftime("%Y-%m-%d"),
        "expires_at_1": expires.strftime("%H:%M:%S"),
    } | overrides


@pytest.mark.parametrize(("version", "reservation_id"), [("1.6", "reservationId"), ("2.0.1", "id")])
def test_it_reserves_a_connector_from_the_admin_through_reserve_now(
    client, staff, version, reservation_id
):
    charger = ChargerFactory(ocpp_version=version)
    client.force_login(staff)

    response = client.post("/admin/charging/reservation/add/", _reservation_form(charger))

    assert response.status_code == 302, response.content.decode()[:3000]
    reservation = Reservation.objects.get()
    command = ChargerCommand.objects.get()
    assert command.operation == "ReserveNow" and command.requested_by == staff
    assert command.payload[reservation_id] == reservation.pk
    assert (reservation.connector_id, reservation.id_tag) == (1, "DRIVER-1")
    assert reservation.status == "rejected", "an offline charger cannot hold it"
    assert response.url == f"/admin/charging/chargercommand/{command.pk}/change/"


def test_it_refuses_a_reservation_the_api_refuses_naming_the_field(client, staff):
    charger = ChargerFactory()
    client.force_login(staff)

    response = client.post(
        "/admin/charging/reservation/add/", _reservation_form(charger, id_tag="T" * 21)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["id_tag"] and "too long" in errors["id_tag"][0]
    assert not Reservation.objects.exists() and not ChargerCommand.objects.exists()


def _profile_form(charger, **overrides) -> dict:
    return {
        "charger": charger.pk,
        "connector_id": "1",
        "profile_id": "7",
        "stack_level": "1",
        "purpose": "TxDefaultProfile",
        "kind": "Relative",
        "recurrency": "",
        "rate_unit": "A",
        "limit": "16.0",
        "duration": "",
        "start_schedule_0": "",
        "start_schedule_1": "",
    } | overrides


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_it_sets_a_charging_profile_from_the_admin_through_the_service(client, staff, version):
    charger = ChargerFactory(ocpp_version=version)
    client.force_login(staff)

    response = client.post("/admin/charging/chargingprofile/add/", _profile_form(charger))

    assert response.status_code == 302, response.content.decode()[:3000]
    command = ChargerCommand.objects.get()
    assert (command.operation, command.status, command.requested_by) == (
        "SetChargingProfile",
        CommandStatus.OFFLINE,
        staff,
    )
    limit = (
        command.payload["csChargingProfiles"]["chargingSchedule"]
        if version == "1.6"
        else command.payload["chargingProfile"]["chargingSchedule"][0]
    )["chargingSchedulePeriod"][0]["limit"]
    assert limit == 16.0
    assert not ChargingProfile.objects.exists(), "stored once the charger accepts it"


def test_it_refuses_a_charging_profile_limit_the_api_refuses_naming_the_field(client, staff):
    charger = ChargerFactory()
    client.force_login(staff)

    response = client.post(
        "/admin/charging/chargingprofile/add/", _profile_form(charger, limit="16.05")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["limit"] and "multiple of 0.1" in errors["limit"][0]
    assert not ChargerCommand.objects.exists()
