"""A command's payload is refused with every broken rule named by its field's path in the payload
(``payload.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit``), whether the
OCPP schema or a rule of ``services.command_rules`` refuses it, and nothing is stored for it.
The chargers are not connected: an accepted command is recorded as offline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from charging import services
from charging.models import (
    ChargerCommand,
    CommandStatus,
    Connector,
    OcppVersion,
    Reservation,
    Transaction,
)
from charging.ocpp_adapter import call_payload_errors
from config.exceptions import ApplicationError, InvalidInput

from .factories import ChargerFactory, IdTagFactory

pytestmark = pytest.mark.django_db

PERIODS = "payload.csChargingProfiles.chargingSchedule.chargingSchedulePeriod"
PERIODS_201 = "payload.chargingProfile.chargingSchedule[0].chargingSchedulePeriod"


def _at(**delta) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


def _charger(version=OcppVersion.V16, connectors=(1, 2), **fields):
    charger = ChargerFactory(ocpp_version=version, **fields)
    for number in (0, *connectors):
        Connector.objects.create(charger=charger, connector_id=number, status="Available")
    return charger


def _send(charger, operation, payload, requested_by=None):
    return services.command_create(
        charger=charger, operation=operation, payload=payload, requested_by=requested_by
    )


def _refused(charger, operation, payload, requested_by=None) -> InvalidInput:
    before = ChargerCommand.objects.count(), Reservation.objects.count()
    with pytest.raises(InvalidInput) as refused:
        _send(charger, operation, payload, requested_by)
    assert (ChargerCommand.objects.count(), Reservation.objects.count()) == before
    return refused.value


def _session(charger, connector_id=1, uid="", stopped=False) -> Transaction:
    now = timezone.now()
    return Transaction.objects.create(
        charger=charger,
        transaction_uid=uid,
        connector_id=connector_id,
        id_tag="DRIVER",
        authorization_status="Accepted",
        meter_start_wh=0,
        started_at=now - timedelta(hours=1),
        stopped_at=now if stopped else None,
    )


def _reservation(**overrides) -> dict:
    return {"connectorId": 1, "idTag": "DRIVER", "expiryDate": _at(hours=2)} | overrides


def _reservation_201(**overrides) -> dict:
    return {
        "idToken": {"idToken": "DRIVER", "type": "Central"},
        "expiryDateTime": _at(hours=2),
        "evseId": 1,
    } | overrides


def _profile(purpose="TxDefaultProfile", periods=None, connector_id=1, **profile) -> dict:
    schedule = {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": periods or [{"startPeriod": 0, "limit": 16.0}],
    }
    return {
        "connectorId": connector_id,
        "csChargingProfiles": {
            "chargingProfileId": 7,
            "stackLevel": 1,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Relative",
            "chargingSchedule": schedule,
        }
        | profile,
    }


def _profile_201(purpose="TxDefaultProfile", evse_id=1, kind="Relative", **profile) -> dict:
    schedule = {
        "id": 1,
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}],
    }
    if kind != "Relative":
        schedule["startSchedule"] = _at(minutes=1)
    return {
        "evseId": evse_id,
        "chargingProfile": {
            "id": 3,
            "stackLevel": 0,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind,
            "chargingSchedule": [schedule],
        }
        | profile,
    }


# ---- the schema's refusals, by path ------------------------------------------------------------


def test_it_names_each_field_the_schema_refuses_by_its_path_and_rule():
    charger = _charger()
    payload = _profile(periods=[{"startPeriod": 0, "limit": 16.05}])
    payload["csChargingProfiles"]["chargingProfileKind"] = "Sometimes"
    payload["csChargingProfiles"]["chargingSchedule"]["colour"] = "red"
    del payload["csChargingProfiles"]["stackLevel"]

    refused = _refused(charger, "SetChargingProfile", payload)

    assert refused.errors == {
        "payload.csChargingProfiles.stackLevel": ["is required"],
        "payload.csChargingProfiles.chargingProfileKind": [
            "must be one of: Absolute, Recurring, Relative"
        ],
        f"{PERIODS}[0].limit": ["must be a multiple of 0.1"],
        "payload.csChargingProfiles.chargingSchedule.colour": ["is not a field of this message"],
    }
    assert "Failed validating" not in refused.message and "{" not in refused.message


def test_it_names_a_nested_201_field_too_long():
    charger = _charger(OcppVersion.V201)
    payload = _reservation_201(idToken={"idToken": "T" * 37, "type": "Central"})

    refused = _refused(charger, "ReserveNow", payload)

    assert refused.errors == {"payload.idToken.idToken": ["is too long (at most 36 characters)"]}
    assert refused.message == (
        "Invalid ReserveNow payload: payload.idToken.idToken: is too long (at most 36 characters)"
    )


def test_it_names_a_wrong_type_by_path_and_the_type_it_must_be():
    refused = _refused(_charger(), "Reset", {"type": 3})
    assert refused.errors == {
        "payload.type": ["must be a text (string)", "must be one of: Hard, Soft"]
    }


def test_it_refuses_a_201_chargers_1_6_profile_naming_the_fields_as_sent():
    """A 1.6-shaped payload sent to a 2.0.1 charger is refused in the terms it was written in."""
    charger = _charger(OcppVersion.V201)
    refused = _refused(
        charger, "SetChargingProfile", _profile(periods=[{"startPeriod": 0, "limit": 1.25}])
    )
    assert refused.errors == {f"{PERIODS}[0].limit": ["must be a multiple of 0.1"]}


def test_it_names_at_most_50_refused_fields():
    entries = [{"idTag": "T" * 21, "idTagInfo": {"status": "Accepted"}}] * 400
    payload = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": entries}
    refused = _refused(_charger(), "SendLocalList", payload)
    assert len(refused.errors) == 50
    assert "payload.localAuthorizationList[49].idTag" in refused.errors


def test_it_names_at_most_50_fields_the_rules_refuse():
    periods = [{"startPeriod": 60 * index, "limit": -1.0} for index in range(60)]
    refused = _refused(_charger(), "SetChargingProfile", _profile(periods=periods))
    assert len(refused.errors) == 50
    assert refused.errors[f"{PERIODS}[49].limit"] == ["must be ≥ 0"]


def test_the_adapter_finds_no_error_in_a_valid_payload():
    assert call_payload_errors("SetChargingProfile", _profile()) == {}
    assert call_payload_errors("SetChargingProfile", _profile_201(), "2.0.1") == {}


# ---- ReserveNow ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "payload", "field"),
    [
        ("1.6", _reservation, "payload.expiryDate"),
        ("2.0.1", _reservation_201, "payload.expiryDateTime"),
    ],
)
def test_it_refuses_a_reservation_that_expired_already(version, payload, field):
    charger = _charger(version)
    key = field.removeprefix("payload.")
    refused = _refused(charger, "ReserveNow", payload(**{key: _at(minutes=-1)}))
    assert refused.errors == {field: ["must be in the future"]}


def test_it_refuses_a_reservation_more_than_30_days_ahead_and_takes_one_within():
    charger = _charger()
    refused = _refused(charger, "ReserveNow", _reservation(expiryDate=_at(days=30, minutes=1)))
    assert refused.errors == {"payload.expiryDate": ["must be at most 30 days ahead"]}

    command = _send(charger, "ReserveNow", _reservation(expiryDate=_at(days=29)))
    assert command.status == CommandStatus.OFFLINE


def test_it_refuses_a_reservation_whose_expiry_is_not_a_date_time():
    refused = _refused(_charger(), "ReserveNow", _reservation(expiryDate="next Tuesday"))
    assert refused.errors == {
        "payload.expiryDate": ["must be a date-time, e.g. 2026-01-31T18:00:00Z"]
    }


@pytest.mark.parametrize(
    ("expiry", "rule"),
    [
        ("2026-12-05T10:00:00+23:59", "The UTC offset must be within ±14:00."),
        ("9999-12-31T23:59:59-13:00", "The datetime is outside the supported range."),
    ],
)
def test_it_refuses_an_expiry_postgresql_could_not_store(expiry, rule):
    refused = _refused(_charger(), "ReserveNow", _reservation(expiryDate=expiry))
    assert refused.errors == {"payload.expiryDate": [rule]}


def test_it_refuses_a_reservation_of_a_connector_the_charger_does_not_have():
    charger = _charger(connectors=(1, 2))
    refused = _refused(charger, "ReserveNow", _reservation(connectorId=3))
    assert refused.errors == {
        "payload.connectorId": [
            "is not a connector of this charger (it has reported connectors 1 to 2)"
        ]
    }
    assert _refused(charger, "ReserveNow", _reservation(connectorId=-1)).errors == {
        "payload.connectorId": ["must be ≥ 0"]
    }


def test_it_reserves_connector_0_any_connector_as_1_6_allows():
    charger = _charger()
    _send(charger, "ReserveNow", _reservation(connectorId=0))
    assert Reservation.objects.get().connector_id == 0


def test_it_sends_any_connector_to_a_charger_that_has_reported_none():
    charger = ChargerFactory()
    _send(charger, "ReserveNow", _reservation(connectorId=4))
    assert Reservation.objects.get().connector_id == 4


def test_it_refuses_a_201_reservation_of_an_unknown_or_zero_evse():
    charger = _charger(OcppVersion.V201, connectors=(1,))
    assert list(_refused(charger, "ReserveNow", _reservation_201(evseId=2)).errors) == [
        "payload.evseId"
    ]
    assert (
        _refused(charger, "ReserveNow", _reservation_201(evseId=0))
        .errors["payload.evseId"][0]
        .startswith("must be ≥ 1")
    )


@pytest.mark.parametrize(
    ("tag", "status"),
    [({"blocked": True}, "is blocked"), ({"expires_at": timezone.now()}, "is expired")],
)
def test_it_refuses_a_reservation_for_a_tag_the_central_system_would_not_authorize(tag, status):
    charger = _charger()
    IdTagFactory(id_tag="Driver", **tag)
    refused = _refused(charger, "ReserveNow", _reservation())
    assert refused.errors == {
        "payload.idTag": [f"{status}: the central system would not authorize it"]
    }


def test_it_refuses_a_reservation_whose_parent_tag_is_blocked():
    charger = _charger(OcppVersion.V201)
    parent = IdTagFactory(id_tag="FLEET", blocked=True)
    IdTagFactory(id_tag="DRIVER", parent=parent)
    payload = _reservation_201(groupIdToken={"idToken": "FLEET", "type": "Central"})
    refused = _refused(charger, "ReserveNow", payload)
    assert set(refused.errors) == {"payload.idToken.idToken", "payload.groupIdToken.idToken"}


def test_it_sends_a_reservation_for_a_tag_it_does_not_know_for_the_station_to_check():
    command = _send(_charger(), "ReserveNow", _reservation(idTag="ROAMING-1"))
    assert command.payload["idTag"] == "ROAMING-1"


def test_it_refuses_a_201_reservation_token_longer_than_a_reservation_holds():
    charger = _charger(OcppVersion.V201)
    payload = _reservation_201(idToken={"idToken": "T" * 21, "type": "Central"})
    assert _refused(charger, "ReserveNow", payload).errors == {
        "payload.idToken.idToken": ["is too long (at most 20 characters)"]
    }


# ---- SetChargingProfile --------------------------------------------------------------------


def test_it_refuses_a_negative_limit_naming_its_period():
    refused = _refused(
        _charger(),
        "SetChargingProfile",
        _profile(periods=[{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 60, "limit": -1.0}]),
    )
    assert refused.errors == {f"{PERIODS}[1].limit": ["must be ≥ 0"]}
    assert refused.message == (
        f"Invalid SetChargingProfile payload: {PERIODS}[1].limit: must be ≥ 0"
    )


def test_it_refuses_a_negative_limit_of_a_1_6_profile_sent_to_a_201_charger_by_its_sent_path():
    charger = _charger(OcppVersion.V201)
    refused = _refused(
        charger, "SetChargingProfile", _profile(periods=[{"startPeriod": 0, "limit": -6.0}])
    )
    assert refused.errors == {f"{PERIODS_201}[0].limit": ["must be ≥ 0"]}


@pytest.mark.parametrize(
    ("starts", "index", "rule"),
    [
        ((0, 60, 60), 2, "must be greater than the previous period's (60)"),
        ((0, 600, 300), 2, "must be greater than the previous period's (600)"),
        ((30, 60), 0, "must be 0: the first period starts the schedule"),
    ],
)
def test_it_refuses_duplicate_unsorted_or_late_starting_periods(starts, index, rule):
    periods = [{"startPeriod": start, "limit": 10.0} for start in starts]
    refused = _refused(_charger(), "SetChargingProfile", _profile(periods=periods))
    assert refused.errors[f"{PERIODS}[{index}].startPeriod"][0].startswith(rule)


def test_it_refuses_the_same_rules_in_each_schedule_of_a_201_profile():
    charger = _charger(OcppVersion.V201)
    payload = _profile_201()
    payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] = [
        {"startPeriod": 0, "limit": 7400.0},
        {"startPeriod": 0, "limit": -1.0, "numberPhases": 4},
    ]
    refused = _refused(charger, "SetChargingProfile", payload)
    assert refused.errors == {
        f"{PERIODS_201}[1].startPeriod": [
            "must be greater than the previous period's (0): periods are in order of their "
            "start, each start once"
        ],
        f"{PERIODS_201}[1].limit": ["must be ≥ 0"],
        f"{PERIODS_201}[1].numberPhases": ["must be 1, 2 or 3"],
    }


@pytest.mark.parametrize("valid_to_after", [timedelta(0), timedelta(hours=-1)])
def test_it_refuses_a_profile_valid_to_before_it_is_valid_from(valid_to_after):
    start = timezone.now() + timedelta(hours=1)
    payload = _profile(validFrom=start.isoformat(), validTo=(start + valid_to_after).isoformat())
    refused = _refused(_charger(), "SetChargingProfile", payload)
    assert refused.errors == {"payload.csChargingProfiles.validTo": ["must be after validFrom"]}


def test_it_refuses_a_201_profile_valid_to_before_valid_from():
    start = timezone.now()
    payload = _profile_201(
        validFrom=start.isoformat(), validTo=(start - timedelta(minutes=5)).isoformat()
    )
    refused = _refused(_charger(OcppVersion.V201), "SetChargingProfile", payload)
    assert refused.errors == {"payload.chargingProfile.validTo": ["must be after validFrom"]}


def test_it_refuses_a_tx_profile_where_no_transaction_runs():
    charger = _charger()
    _session(charger, connector_id=2)
    _session(charger, connector_id=1, stopped=True)
    refused = _refused(charger, "SetChargingProfile", _profile("TxProfile"))
    assert refused.errors == {
        "payload.csChargingProfiles.chargingProfilePurpose": [
            "TxProfile needs a transaction running at connector 1, and none is"
        ]
    }


def test_it_sends_a_tx_profile_for_the_transaction_running_at_the_connector():
    charger = _charger()
    session = _session(charger, connector_id=1)
    command = _send(charger, "SetChargingProfile", _profile("TxProfile"))
    assert command.status == CommandStatus.OFFLINE
    _send(charger, "SetChargingProfile", _profile("TxProfile", transactionId=session.pk))


def test_it_refuses_a_tx_profile_naming_a_transaction_not_running_there():
    charger = _charger()
    _session(charger, connector_id=1)
    elsewhere = _session(charger, connector_id=2)
    refused = _refused(
        charger, "SetChargingProfile", _profile("TxProfile", transactionId=elsewhere.pk)
    )
    assert refused.errors == {
        "payload.csChargingProfiles.transactionId": [
            "is not a transaction running at connector 1 of this charger"
        ]
    }


def test_it_refuses_a_tx_profile_for_the_charger_as_a_whole():
    refused = _refused(_charger(), "SetChargingProfile", _profile("TxProfile", connector_id=0))
    assert refused.errors == {
        "payload.connectorId": ["must be ≥ 1: a TxProfile is for a connector's transaction"]
    }


def test_it_refuses_a_charge_point_max_profile_for_one_connector():
    refused = _refused(_charger(), "SetChargingProfile", _profile("ChargePointMaxProfile"))
    assert refused.errors == {
        "payload.connectorId": ["must be 0: a ChargePointMaxProfile is for the charger as a whole"]
    }
    _send(_charger(), "SetChargingProfile", _profile("ChargePointMaxProfile", connector_id=0))


def test_it_refuses_a_transaction_id_in_a_default_profile():
    charger = _charger()
    session = _session(charger)
    refused = _refused(charger, "SetChargingProfile", _profile(transactionId=session.pk))
    assert refused.errors == {
        "payload.csChargingProfiles.transactionId": ["is only for a TxProfile"]
    }


def test_it_refuses_a_profile_for_a_connector_the_charger_does_not_have():
    refused = _refused(_charger(connectors=(1,)), "SetChargingProfile", _profile(connector_id=2))
    assert list(refused.errors) == ["payload.connectorId"]


def test_it_refuses_a_recurring_profile_without_its_recurrency():
    payload = _profile(chargingProfileKind="Recurring")
    refused = _refused(_charger(), "SetChargingProfile", payload)
    assert refused.errors == {
        "payload.csChargingProfiles.recurrencyKind": ["is required for a Recurring profile"]
    }


def test_it_requires_a_201_tx_profile_to_name_its_running_transaction():
    charger = _charger(OcppVersion.V201)
    _session(charger, connector_id=1, uid="tx-1")
    refused = _refused(charger, "SetChargingProfile", _profile_201("TxProfile"))
    assert refused.errors == {
        "payload.chargingProfile.transactionId": [
            "is required for a TxProfile (the transaction it is for)"
        ]
    }
    stale = _refused(charger, "SetChargingProfile", _profile_201("TxProfile", transactionId="tx-0"))
    assert list(stale.errors) == ["payload.chargingProfile.transactionId"]
    command = _send(charger, "SetChargingProfile", _profile_201("TxProfile", transactionId="tx-1"))
    assert command.payload["chargingProfile"]["transactionId"] == "tx-1"


def test_it_requires_a_start_for_an_absolute_201_schedule_and_none_for_a_relative_one():
    charger = _charger(OcppVersion.V201)
    absolute = _profile_201(kind="Absolute")
    del absolute["chargingProfile"]["chargingSchedule"][0]["startSchedule"]
    assert _refused(charger, "SetChargingProfile", absolute).errors == {
        "payload.chargingProfile.chargingSchedule[0].startSchedule": [
            "is required for an Absolute profile"
        ]
    }
    relative = _profile_201()
    relative["chargingProfile"]["chargingSchedule"][0]["startSchedule"] = _at()
    assert list(_refused(charger, "SetChargingProfile", relative).errors) == [
        "payload.chargingProfile.chargingSchedule[0].startSchedule"
    ]


def test_it_refuses_a_201_station_max_profile_for_one_evse():
    charger = _charger(OcppVersion.V201)
    refused = _refused(charger, "SetChargingProfile", _profile_201("ChargingStationMaxProfile"))
    assert list(refused.errors) == ["payload.evseId"]


# ---- remote starts -------------------------------------------------------------------------


def test_it_refuses_a_remote_start_at_a_connector_the_charger_does_not_have():
    charger = _charger(connectors=(1, 2))
    refused = _refused(charger, "RemoteStartTransaction", {"connectorId": 3, "idTag": "DRIVER"})
    assert list(refused.errors) == ["payload.connectorId"]
    zero = _refused(charger, "RemoteStartTransaction", {"connectorId": 0, "idTag": "DRIVER"})
    assert zero.errors["payload.connectorId"][0].startswith("must be ≥ 1")


def test_it_refuses_a_201_remote_start_at_an_unknown_evse_whichever_form_it_came_in():
    charger = _charger(OcppVersion.V201, connectors=(1,))
    as_16 = _refused(charger, "RemoteStartTransaction", {"connectorId": 2, "idTag": "DRIVER"})
    assert list(as_16.errors) == ["payload.evseId"]
    native = {"idToken": {"idToken": "DRIVER", "type": "Central"}, "evseId": 2, "remoteStartId": 1}
    assert list(_refused(charger, "RequestStartTransaction", native).errors) == ["payload.evseId"]


def test_it_refuses_a_remote_start_with_a_blocked_tag():
    charger = _charger()
    IdTagFactory(id_tag="DRIVER", blocked=True)
    refused = _refused(charger, "RemoteStartTransaction", {"connectorId": 1, "idTag": "DRIVER"})
    assert refused.errors == {
        "payload.idTag": ["is blocked: the central system would not authorize it"]
    }


def test_it_refuses_a_remote_starts_profile_unless_a_tx_profile_without_a_transaction():
    charger = _charger()
    profile = _profile(transactionId=5)["csChargingProfiles"]
    payload = {"connectorId": 1, "idTag": "DRIVER", "chargingProfile": profile}
    refused = _refused(charger, "RemoteStartTransaction", payload)
    assert set(refused.errors) == {
        "payload.chargingProfile.chargingProfilePurpose",
        "payload.chargingProfile.transactionId",
    }
    del profile["transactionId"]
    profile["chargingProfilePurpose"] = "TxProfile"
    assert _send(charger, "RemoteStartTransaction", payload).status == CommandStatus.OFFLINE


def test_it_does_not_tell_a_customer_whether_another_accounts_tag_is_blocked():
    user = UserFactory()
    account = CustomerAccountFactory(users=[user])
    charger = _charger(account=account)
    IdTagFactory(id_tag="THEIRS", blocked=True, account=CustomerAccountFactory())
    with pytest.raises(ApplicationError) as refused:
        _send(charger, "RemoteStartTransaction", {"connectorId": 1, "idTag": "THEIRS"}, user)
    assert "blocked" not in str(refused.value)
    assert refused.value.field == "payload.idTag"


# ---- configuration, triggers, bounds -------------------------------------------------------


def test_it_refuses_a_configuration_key_too_long_or_empty():
    charger = _charger()
    long_key = _refused(charger, "ChangeConfiguration", {"key": "K" * 51, "value": "1"})
    assert long_key.errors == {"payload.key": ["is too long (at most 50 characters)"]}
    empty = _refused(charger, "ChangeConfiguration", {"key": " ", "value": "1"})
    assert empty.errors == {"payload.key": ["must not be empty"]}


def test_it_refuses_a_201_variable_name_too_long_or_empty():
    charger = _charger(OcppVersion.V201)

    def variables(component: str, variable: str) -> dict:
        first = {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "60",
        }
        item = {"component": {"name": component}, "variable": {"name": variable}}
        return {"setVariableData": [first, item | {"attributeValue": "1"}]}

    assert _refused(charger, "SetVariables", variables("C" * 51, "V")).errors == {
        "payload.setVariableData[1].component.name": ["is too long (at most 50 characters)"]
    }
    assert _refused(charger, "SetVariables", variables("C", "")).errors == {
        "payload.setVariableData[1].variable.name": ["must not be empty"]
    }


def test_it_refuses_a_trigger_for_a_connector_the_charger_does_not_have():
    charger = _charger(connectors=(1,))
    payload = {"requestedMessage": "StatusNotification", "connectorId": 2}
    assert list(_refused(charger, "TriggerMessage", payload).errors) == ["payload.connectorId"]
    charger_201 = _charger(OcppVersion.V201, connectors=(1,))
    as_16 = _refused(charger_201, "TriggerMessage", payload)
    assert list(as_16.errors) == ["payload.evse.id"]


def test_it_refuses_integers_beyond_ocpps_32_bits_before_storing_anything():
    charger = ChargerFactory()
    refused = _refused(charger, "ReserveNow", _reservation(connectorId=2**40))
    assert refused.errors == {
        "payload.connectorId": ["must be an OCPP integer (-2147483648 to 2147483647)"]
    }


def test_it_refuses_nul_characters_from_any_door():
    refused = _refused(_charger(), "DataTransfer", {"vendorId": "acme", "data": "a\x00b"})
    assert refused.errors == {"payload": ["Text must not contain NUL (\\u0000)."]}


def test_the_api_answers_a_refusal_with_400_naming_each_field_by_its_path(api, staff):
    charger = _charger()
    payload = _profile(
        periods=[{"startPeriod": 0, "limit": -2.0}, {"startPeriod": 0, "limit": 1.0}]
    )

    response = api.as_user(staff).post(
        f"/api/v1/chargers/{charger.pk}/commands/SetChargingProfile", payload, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Invalid SetChargingProfile payload: {PERIODS}[0].limit: must be ≥ 0",
        "fields": {
            f"{PERIODS}[0].limit": ["must be ≥ 0"],
            f"{PERIODS}[1].startPeriod": [
                "must be greater than the previous period's (0): periods are in order of their "
                "start, each start once"
            ],
        },
    }
    assert not ChargerCommand.objects.exists()
