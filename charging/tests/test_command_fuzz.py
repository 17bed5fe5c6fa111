"""No payload makes the command API answer 500: arbitrary JSON, and valid payloads of each
operation with values swapped for arbitrary or edge-case ones, posted through the API with a
staff token, answer 201 (recorded, offline) or a 4xx naming a field; a refused command stores
nothing (no command, no reservation)."""

import copy
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from charging import services
from charging.models import (
    ChargerCommand,
    Connector,
    IdTag,
    OcppVersion,
    Reservation,
    Transaction,
)
from charging.ocpp_adapter import call_payload_fields
from charging.services.command_versions import _TO_201 as TO_201

from .factories import ChargerFactory

pytestmark = pytest.mark.django_db


def _at(**delta) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


TOKEN = {"idToken": "DRIVER", "type": "Central"}
PROFILE_16 = {
    "chargingProfileId": 7,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "validFrom": _at(),
    "validTo": _at(days=1),
    "chargingSchedule": {
        "duration": 3600,
        "startSchedule": _at(),
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
            {"startPeriod": 1800, "limit": 8.5},
        ],
        "minChargingRate": 6.0,
    },
}
PROFILE_201 = {
    "id": 3,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "validFrom": _at(),
    "validTo": _at(days=1),
    "chargingSchedule": [
        {
            "id": 1,
            "startSchedule": _at(),
            "duration": 3600,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 7400.0, "numberPhases": 1, "phaseToUse": 1},
                {"startPeriod": 900, "limit": 3700.0},
            ],
        }
    ],
}
VARIABLE = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
# A valid payload of every operation, as a staff member or another app sends it.
EXAMPLES = {
    OcppVersion.V16: {
        "RemoteStartTransaction": {"connectorId": 1, "idTag": "DRIVER"},
        "RemoteStopTransaction": {"transactionId": 1},
        "Reset": {"type": "Soft"},
        "UnlockConnector": {"connectorId": 1},
        "ChangeAvailability": {"connectorId": 0, "type": "Operative"},
        "GetConfiguration": {"key": ["HeartbeatInterval"]},
        "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "120"},
        "ClearCache": {},
        "TriggerMessage": {"requestedMessage": "StatusNotification", "connectorId": 1},
        "DataTransfer": {"vendorId": "com.acme", "messageId": "ping", "data": "hello"},
        "GetLocalListVersion": {},
        "SendLocalList": {
            "listVersion": 2,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idTag": "DRIVER", "idTagInfo": {"status": "Accepted", "expiryDate": _at(days=9)}}
            ],
        },
        "ReserveNow": {
            "connectorId": 1,
            "idTag": "DRIVER",
            "parentIdTag": "FLEET",
            "expiryDate": _at(hours=2),
        },
        "CancelReservation": {"reservationId": 1},
        "SetChargingProfile": {"connectorId": 1, "csChargingProfiles": PROFILE_16},
        "ClearChargingProfile": {
            "id": 7,
            "connectorId": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "stackLevel": 1,
        },
        "GetCompositeSchedule": {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        "GetDiagnostics": {
            "location": "ftp://logs.example.com/",
            "retries": 1,
            "retryInterval": 60,
            "startTime": _at(days=-1),
            "stopTime": _at(),
        },
        "UpdateFirmware": {
            "location": "https://fw.example.com/1.bin",
            "retrieveDate": _at(hours=1),
            "retries": 1,
            "retryInterval": 60,
        },
    },
    OcppVersion.V201: {
        "RequestStartTransaction": {"idToken": TOKEN, "remoteStartId": 1, "evseId": 1},
        "RequestStopTransaction": {"transactionId": "tx-1"},
        "Reset": {"type": "OnIdle"},
        "UnlockConnector": {"evseId": 1, "connectorId": 1},
        "ChangeAvailability": {"operationalStatus": "Operative", "evse": {"id": 1}},
        "GetVariables": {"getVariableData": [VARIABLE]},
        "SetVariables": {"setVariableData": [VARIABLE | {"attributeValue": "60"}]},
        "GetBaseReport": {"requestId": 1, "reportBase": "FullInventory"},
        "TriggerMessage": {
            "requestedMessage": "StatusNotification",
            "evse": {"id": 1, "connectorId": 1},
        },
        "ClearCache": {},
        "SetChargingProfile": {"evseId": 1, "chargingProfile": PROFILE_201},
        "ClearChargingProfile": {"chargingProfileId": 3},
        "GetChargingProfiles": {
            "requestId": 1,
            "evseId": 1,
            "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"},
        },
        "GetCompositeSchedule": {"duration": 3600, "evseId": 1},
        "GetTransactionStatus": {"transactionId": "tx-1"},
        "SendLocalList": {
            "versionNumber": 2,
            "updateType": "Full",
            "localAuthorizationList": [{"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}}],
        },
        "GetLocalListVersion": {},
        "ReserveNow": {"id": 1, "idToken": TOKEN, "expiryDateTime": _at(hours=2), "evseId": 1},
        "CancelReservation": {"reservationId": 1},
        "UpdateFirmware": {
            "requestId": 1,
            "firmware": {"location": "https://fw.example.com/2.bin", "retrieveDateTime": _at()},
        },
        "GetLog": {
            "logType": "DiagnosticsLog",
            "requestId": 1,
            "log": {"remoteLocation": "https://logs.example.com/"},
        },
        "DataTransfer": {"vendorId": "com.acme", "data": "hello"},
    },
}
CASES = [(version, operation) for version, examples in EXAMPLES.items() for operation in examples]
# The 1.6 operations a 2.0.1 charger also takes (the admin's, the portal's and other apps'
# payloads), converted to their 2.0.1 form: (charger's version, payload's version, operation).
CONVERTED = [
    (OcppVersion.V201, OcppVersion.V16, operation)
    for operation in EXAMPLES[OcppVersion.V16]
    if operation in TO_201
]
DOORS = [(version, version, operation) for version, operation in CASES] + CONVERTED

# Values the rules care about: connector and int32 bounds, limits, lengths, times, purposes.
EDGES = st.sampled_from(
    [
        0,
        -1,
        1,
        2,
        3,
        2**31 - 1,
        2**31,
        -(2**31) - 1,
        10**30,
        0.05,
        -0.1,
        16.0,
        "",
        " ",
        "K" * 51,
        "T" * 37,
        _at(days=-1),
        _at(days=45),
        "2026-13-45T99:00:00Z",
        (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+23:59"),
        "9999-12-31T23:59:59-13:00",
        "not a date",
        "BLOCKED",
        "TxProfile",
        "ChargePointMaxProfile",
        "ChargingStationMaxProfile",
        "Recurring",
        "Relative",
        True,
        None,
        [],
        {},
    ]
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
REMOVE = object()


def _nodes(value, path=()):
    """The path of every value inside ``value`` (keys and list indices)."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield (*path, key)
        yield from _nodes(item, (*path, key))


def _swapped(payload, path, new):
    payload = copy.deepcopy(payload)
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if new is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return payload


@st.composite
def payloads(draw, version: str, operation: str):
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "fields", "any"]))
    if kind == "any":
        return draw(JSON)
    if kind == "fields":
        fields, _ = call_payload_fields(operation, version)
        return draw(
            st.fixed_dictionaries({}, optional={name: EDGES | JSON for name in sorted(fields)})
        )
    payload = EXAMPLES[version][operation]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_nodes(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        payload = _swapped(payload, path, draw(EDGES | JSON | st.just(REMOVE)))
    return payload


def _charger(version: str):
    charger = ChargerFactory(ocpp_version=version)
    for number in (0, 1, 2):
        Connector.objects.create(charger=charger, connector_id=number, status="Available")
    Transaction.objects.create(
        charger=charger,
        transaction_uid="tx-1" if version == OcppVersion.V201 else "",
        connector_id=1,
        id_tag="DRIVER",
        authorization_status="Accepted",
        meter_start_wh=0,
        started_at=timezone.now() - timedelta(hours=1),
    )
    IdTag.objects.get_or_create(id_tag="DRIVER")
    IdTag.objects.get_or_create(id_tag="FLEET")
    IdTag.objects.get_or_create(id_tag="BLOCKED", defaults={"blocked": True})
    return charger


def _stored() -> tuple[int, int]:
    return ChargerCommand.objects.count(), Reservation.objects.count()


def test_every_operation_has_an_example():
    assert set(EXAMPLES[OcppVersion.V16]) == set(services.OPERATIONS)
    assert set(EXAMPLES[OcppVersion.V201]) == set(services.OPERATIONS_201)


@pytest.mark.parametrize(("version", "operation"), CASES)
def test_each_example_is_sent(api, staff, version, operation):
    charger = _charger(version)
    url = f"/api/v1/chargers/{charger.pk}/commands/{operation}"
    response = api.as_user(staff).post(url, EXAMPLES[version][operation], format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "offline"


@pytest.mark.parametrize(("version", "written_for", "operation"), DOORS)
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_payload_answers_500_and_a_refused_one_stores_nothing(
    api, staff, version, written_for, operation, data
):
    charger = _charger(version)
    client = api.as_user(staff)
    payload = data.draw(payloads(written_for, operation))
    before = _stored()

    response = client.post(
        f"/api/v1/chargers/{charger.pk}/commands/{operation}", payload, format="json"
    )

    assert response.status_code < 500
    body = response.json()
    event(f"answered {response.status_code}")
    if response.status_code == 201:
        assert body["status"] == "offline"
        assert _stored()[0] == before[0] + 1
        return
    assert 400 <= response.status_code < 500, body
    assert body["fields"], body
    assert all(name.startswith(("payload", "operation", "body")) for name in body["fields"])
    assert "Failed validating" not in body["detail"]
    assert _stored() == before, f"refused, yet stored: {body}"
