"""Operations per OCPP version: a 2.0.1 charger takes its own operations and the 1.6 ones the
portal, the admin and other apps send, as their 2.0.1 form; a 1.6 charger refuses 2.0.1 ones.
The chargers here are not connected, so each command is recorded (offline) as it would be sent."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from charging import services
from charging.models import OcppVersion, Transaction
from config.exceptions import ApplicationError

from .factories import ChargerFactory, IdTagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_and_charger():
    user = UserFactory()
    account = CustomerAccountFactory(users=[user])
    charger = ChargerFactory(account=account, ocpp_version=OcppVersion.V201)
    IdTagFactory(id_tag="MINE", account=account)
    return user, charger


def test_it_sends_a_customers_remote_start_as_request_start_transaction(owner_and_charger):
    user, charger = owner_and_charger
    command = services.command_create(
        charger=charger,
        operation="RemoteStartTransaction",
        payload={"connectorId": 1, "idTag": "MINE"},
        requested_by=user,
    )
    assert command.operation == "RequestStartTransaction"
    assert command.payload == {
        "idToken": {"idToken": "MINE", "type": "Central"},
        "evseId": 1,
        "remoteStartId": command.pk,
    }


def test_it_sends_a_customers_remote_stop_with_the_stations_transaction_id(owner_and_charger):
    user, charger = owner_and_charger
    session = Transaction.objects.create(
        charger=charger,
        transaction_uid="abc-123",
        connector_id=1,
        id_tag="MINE",
        account=charger.account,
        authorization_status="Accepted",
        meter_start_wh=0,
        started_at=timezone.now(),
    )
    command = services.command_create(
        charger=charger,
        operation="RemoteStopTransaction",
        payload={"transactionId": session.pk},
        requested_by=user,
    )
    assert (command.operation, command.payload) == (
        "RequestStopTransaction",
        {"transactionId": "abc-123"},
    )
    someone = UserFactory()
    CustomerAccountFactory(users=[someone])
    with pytest.raises(Exception, match="Only staff and the charger's owner"):
        services.command_create(
            charger=charger,
            operation="RequestStopTransaction",
            payload={"transactionId": "abc-123"},
            requested_by=someone,
        )


def test_a_1_6_charging_profile_goes_to_a_2_0_1_charger_as_a_2_0_1_profile(owner_and_charger):
    _, charger = owner_and_charger
    start = datetime(2026, 12, 3, tzinfo=UTC).isoformat()
    profile = {
        "chargingProfileId": 5,
        "stackLevel": 1,
        "chargingProfilePurpose": "ChargePointMaxProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": start,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }
    command = services.command_create(
        charger=charger,
        operation="SetChargingProfile",
        payload={"connectorId": 0, "csChargingProfiles": profile},
    )
    assert command.operation == "SetChargingProfile"
    sent = command.payload["chargingProfile"]
    assert command.payload["evseId"] == 0
    assert sent["id"] == 5 and sent["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    assert sent["chargingSchedule"] == [{"id": 5} | profile["chargingSchedule"]]


def test_a_2_0_1_payload_is_sent_as_it_is_and_a_bad_one_refused(owner_and_charger):
    _, charger = owner_and_charger
    command = services.command_create(
        charger=charger, operation="Reset", payload={"type": "OnIdle"}
    )
    assert command.payload == {"type": "OnIdle"}
    with pytest.raises(ApplicationError, match="Invalid Reset payload"):
        services.command_create(charger=charger, operation="Reset", payload={"type": "Later"})
    with pytest.raises(ApplicationError, match="GetLog"):
        services.command_create(charger=charger, operation="GetDiagnostics", payload={})


def test_a_1_6_charger_refuses_a_2_0_1_operation():
    charger = ChargerFactory()
    with pytest.raises(ApplicationError, match=r"not an OCPP 1\.6 operation") as refused:
        services.command_create(charger=charger, operation="GetVariables", payload={})
    assert refused.value.field == "operation"
