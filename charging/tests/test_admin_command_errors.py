"""The admin's reservation and charging-profile forms show each rule the service refuses on the
input the refused value came from, for a 1.6 and a 2.0.1 charger (whose payload the service
converts, so its refusal names 2.0.1 paths), and send nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from charging.models import ChargerCommand, Connector, OcppVersion, Reservation, Transaction

from .factories import ChargerFactory, IdTagFactory
from .test_admin import _profile_form

pytestmark = pytest.mark.django_db


def _charger(version=OcppVersion.V16, connectors=(1, 2)):
    charger = ChargerFactory(ocpp_version=version)
    for number in connectors:
        Connector.objects.create(charger=charger, connector_id=number)
    return charger


def _reservation_form(charger, expires=None, **overrides) -> dict:
    expires = timezone.localtime(expires or timezone.now() + timedelta(hours=2))
    return {
        "charger": charger.pk,
        "connector_id": "1",
        "id_tag": "DRIVER-1",
        "parent_id_tag": "",
        "expires_at_0": expires.strftime("%Y-%m-%d"),
        "expires_at_1": expires.strftime("%H:%M:%S"),
    } | overrides


def _errors(client, staff, url: str, data: dict) -> dict:
    client.force_login(staff)
    response = client.post(url, data)
    assert response.status_code == 200, "refused: the form is shown again"
    assert not ChargerCommand.objects.exists() and not Reservation.objects.exists()
    return response.context["adminform"].form.errors


RESERVATION = "/admin/charging/reservation/add/"
PROFILE = "/admin/charging/chargingprofile/add/"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_it_shows_a_past_expiry_on_the_expiry_field(client, staff, version):
    charger = _charger(version)
    past = timezone.now() - timedelta(hours=1)
    errors = _errors(client, staff, RESERVATION, _reservation_form(charger, expires=past))
    assert errors == {"expires_at": ["must be in the future"]}


def test_it_shows_an_expiry_too_far_ahead_on_the_expiry_field(client, staff):
    later = timezone.now() + timedelta(days=45)
    errors = _errors(client, staff, RESERVATION, _reservation_form(_charger(), expires=later))
    assert errors == {"expires_at": ["must be at most 30 days ahead"]}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_it_shows_an_unknown_connector_on_the_connector_field(client, staff, version):
    charger = _charger(version, connectors=(1,))
    errors = _errors(client, staff, RESERVATION, _reservation_form(charger, connector_id="2"))
    assert errors == {
        "connector_id": ["is not a connector of this charger (it has reported connectors 1 to 1)"]
    }


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_it_shows_a_blocked_tag_and_parent_on_their_own_fields(client, staff, version):
    IdTagFactory(id_tag="DRIVER-1", blocked=True)
    IdTagFactory(id_tag="FLEET", expires_at=timezone.now() - timedelta(days=1))
    data = _reservation_form(_charger(version), parent_id_tag="FLEET")
    errors = _errors(client, staff, RESERVATION, data)
    assert errors == {
        "id_tag": ["is blocked: the central system would not authorize it"],
        "parent_id_tag": ["is expired: the central system would not authorize it"],
    }


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_it_shows_a_negative_limit_on_the_limit_field(client, staff, version):
    errors = _errors(client, staff, PROFILE, _profile_form(_charger(version), limit="-5"))
    assert errors == {"limit": ["must be ≥ 0"]}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_it_shows_a_tx_profile_without_a_running_transaction_on_the_purpose_in_201_too(
    client, staff, version
):
    errors = _errors(client, staff, PROFILE, _profile_form(_charger(version), purpose="TxProfile"))
    assert errors == {
        "purpose": ["TxProfile needs a transaction running at connector 1, and none is"]
    }


@pytest.mark.parametrize(("version", "uid"), [("1.6", ""), ("2.0.1", "tx-9")])
def test_it_sends_a_tx_profile_for_the_transaction_running_there(client, staff, version, uid):
    charger = _charger(version)
    session = Transaction.objects.create(
        charger=charger,
        transaction_uid=uid,
        connector_id=1,
        id_tag="DRIVER-1",
        authorization_status="Accepted",
        meter_start_wh=0,
        started_at=timezone.now(),
    )
    client.force_login(staff)
    response = client.post(PROFILE, _profile_form(charger, purpose="TxProfile"))
    assert response.status_code == 302
    command = ChargerCommand.objects.get()
    assert command.operation == "SetChargingProfile"
    if version == "2.0.1":  # a 2.0.1 TxProfile names its transaction: the one running there
        assert command.payload["chargingProfile"]["transactionId"] == session.transaction_uid
    else:
        assert "transactionId" not in command.payload["csChargingProfiles"]


def test_it_shows_a_201_absolute_profile_without_start_on_the_start_field(client, staff):
    data = _profile_form(_charger(OcppVersion.V201), kind="Absolute")
    errors = _errors(client, staff, PROFILE, data)
    assert errors == {"start_schedule": ["is required for an Absolute profile"]}


def test_it_shows_a_recurring_profile_without_recurrency_on_the_recurrency_field(client, staff):
    data = _profile_form(_charger(), kind="Recurring")
    errors = _errors(client, staff, PROFILE, data)
    assert errors == {"recurrency": ["is required for a Recurring profile"]}


def test_it_shows_several_refusals_each_on_its_field(client, staff):
    data = _profile_form(_charger(), purpose="ChargePointMaxProfile", limit="1.25")
    errors = _errors(client, staff, PROFILE, data)
    assert errors == {"limit": ["must be a multiple of 0.1"]}, "the schema's refusals come first"
    data = _profile_form(_charger(), purpose="ChargePointMaxProfile", limit="-1", stack_level="-1")
    errors = _errors(client, staff, PROFILE, data)
    assert errors == {
        "connector_id": ["must be 0: a ChargePointMaxProfile is for the charger as a whole"],
        "stack_level": ["must be ≥ 0"],
        "limit": ["must be ≥ 0"],
    }
