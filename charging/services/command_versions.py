"""Which operations each OCPP version takes, and the 1.6 operations that have a 2.0.1 form.

One operator API for both versions: ``POST /api/v1/chargers/{id}/commands/{Operation}`` takes
the operations of the charger's version (``OPERATIONS_BY_VERSION``). The 1.6 operations the
portal, the admin and other apps send (remote start/stop, reset, availability, unlock, trigger,
charging profiles...) are also taken for a 2.0.1 station and sent as their 2.0.1 form
(``to_201``), so those callers need not know the version. A 1.6 operation without one (its
payload has no 2.0.1 meaning, e.g. ChangeConfiguration) is refused naming the 2.0.1 operation
to use instead.
"""

from ocpp.exceptions import OCPPError

from config.exceptions import ApplicationError

from ..models import INT32_MAX, OcppVersion, Transaction
from ..ocpp_adapter import call_payload_validate

OPERATIONS_16 = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetConfiguration",
    "ChangeConfiguration",
    "ClearCache",
    "TriggerMessage",
    "DataTransfer",
    "GetLocalListVersion",
    "SendLocalList",
    "ReserveNow",
    "CancelReservation",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "GetDiagnostics",
    "UpdateFirmware",
)
OPERATIONS_201 = (
    "RequestStartTransaction",
    "RequestStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetVariables",
    "SetVariables",
    "GetBaseReport",
    "TriggerMessage",
    "ClearCache",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetChargingProfiles",
    "GetCompositeSchedule",
    "GetTransactionStatus",
    "SendLocalList",
    "GetLocalListVersion",
    "ReserveNow",
    "CancelReservation",
    "UpdateFirmware",
    "GetLog",
    "DataTransfer",
)
OPERATIONS_BY_VERSION = {OcppVersion.V16: OPERATIONS_16, OcppVersion.V201: OPERATIONS_201}
# Ids the server allocates in a 2.0.1 payload (set once the command's row exists).
SERVER_IDS_201 = {
    "RequestStartTransaction": "remoteStartId",
    "GetBaseReport": "requestId",
    "GetLog": "requestId",
    "UpdateFirmware": "requestId",
    "GetChargingProfiles": "requestId",
}
_INSTEAD = {
    "ChangeConfiguration": "SetVariables",
    "GetDiagnostics": "GetLog",
    "RequestStartTransaction": "RemoteStartTransaction",
    "RequestStopTransaction": "RemoteStopTransaction",
    "GetVariables": "GetConfiguration",
    "SetVariables": "ChangeConfiguration",
    "GetBaseReport": "GetConfiguration",
    "GetLog": "GetDiagnostics",
}
_PURPOSES = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}
_TRIGGERS = {"DiagnosticsStatusNotification": "LogStatusNotification"}


def _evse(connector_id: int | None) -> dict:
    return {"id": connector_id} if connector_id else {}


def _transaction_uid(charger, transaction_id) -> str:
    """The 2.0.1 transactionId of the session a 1.6-style integer names."""
    if isinstance(transaction_id, int) and 1 <= transaction_id <= INT32_MAX:
        row = Transaction.objects.filter(pk=transaction_id, charger=charger).first()
        if row is not None and row.transaction_uid:
            return row.transaction_uid
    raise ApplicationError(
        f"transactionId {transaction_id!r} is not a session of this 2.0.1 charger.",
        field="payload",
    )


def profile_to_201(charger, profile: dict) -> dict:
    """A 1.6 csChargingProfiles as a 2.0.1 ChargingProfileType (one schedule, id = the
    profile's)."""
    schedule = dict(profile["chargingSchedule"])
    converted = {
        "id": profile["chargingProfileId"],
        "stackLevel": profile["stackLevel"],
        "chargingProfilePurpose": _PURPOSES.get(
            profile["chargingProfilePurpose"], profile["chargingProfilePurpose"]
        ),
        "chargingProfileKind": profile["chargingProfileKind"],
        "chargingSchedule": [{"id": profile["chargingProfileId"]} | schedule],
    }
    for key in ("recurrencyKind", "validFrom", "validTo"):
        if key in profile:
            converted[key] = profile[key]
    if "transactionId" in profile:
        converted["transactionId"] = _transaction_uid(charger, profile["transactionId"])
    return converted


def _start(charger, payload: dict) -> dict:
    converted = {"idToken": {"idToken": payload.get("idTag"), "type": "Central"}}
    converted["remoteStartId"] = 0
    if payload.get("connectorId"):
        converted["evseId"] = payload["connectorId"]
    if "chargingProfile" in payload:
        converted["chargingProfile"] = profile_to_201(charger, payload["chargingProfile"])
    return converted


def _clear_profile(charger, payload: dict) -> dict:
    criteria = {}
    if "connectorId" in payload:
        criteria["evseId"] = payload["connectorId"]
    if "chargingProfilePurpose" in payload:
        criteria["chargingProfilePurpose"] = _PURPOSES.get(
            payload["chargingProfilePurpose"], payload["chargingProfilePurpose"]
        )
    if "stackLevel" in payload:
        criteria["stackLevel"] = payload["stackLevel"]
    converted = {"chargingProfileCriteria": criteria} if criteria else {}
    return converted | ({"chargingProfileId": payload["id"]} if "id" in payload else {})


_TO_201 = {
    "RemoteStartTransaction": ("RequestStartTransaction", _start),
    "RemoteStopTransaction": (
        "RequestStopTransaction",
        lambda charger, p: {"transactionId": _transaction_uid(charger, p.get("transactionId"))},
    ),
    "Reset": (
        "Reset",
        lambda charger, p: {"type": {"Hard": "Immediate", "Soft": "OnIdle"}.get(p.get("type"), "")},
    ),
    "UnlockConnector": (
        "UnlockConnector",
        lambda charger, p: {"evseId": p.get("connectorId"), "connectorId": 1},
    ),
    "ChangeAvailability": (
        "ChangeAvailability",
        lambda charger, p: (
            {"operationalStatus": p.get("type")}
            | ({"evse": _evse(p.get("connectorId"))} if p.get("connectorId") else {})
        ),
    ),
    "GetConfiguration": (
        "GetBaseReport",
        lambda charger, p: {"requestId": 0, "reportBase": "ConfigurationInventory"},
    ),
    "TriggerMessage": (
        "TriggerMessage",
        lambda charger, p: (
            {
                "requestedMessage": _TRIGGERS.get(
                    p.get("requestedMessage"), p.get("requestedMessage")
                )
            }
            | ({"evse": _evse(p.get("connectorId"))} if p.get("connectorId") else {})
        ),
    ),
    "SetChargingProfile": (
        "SetChargingProfile",
        lambda charger, p: {
            "evseId": p.get("connectorId"),
            "chargingProfile": profile_to_201(charger, p["csChargingProfiles"]),
        },
    ),
    "ClearChargingProfile": ("ClearChargingProfile", _clear_profile),
    "GetCompositeSchedule": (
        "GetCompositeSchedule",
        lambda charger, p: (
            {"evseId": p.get("connectorId"), "duration": p.get("duration")}
            | ({"chargingRateUnit": p["chargingRateUnit"]} if "chargingRateUnit" in p else {})
        ),
    ),
}


def _valid(operation: str, payload: dict, version: str) -> bool:
    try:
        call_payload_validate(operation, payload, version)
    except OCPPError:
        return False
    return True


def operation_for_version(charger, operation: str, payload: dict) -> tuple[str, dict]:
    """``(operation, payload)`` as the charger's version takes them; ApplicationError naming
    the field for an operation its version does not have. An operation both versions have
    (Reset, UnlockConnector...) whose payload is a valid 1.6 one but not a valid 2.0.1 one is
    converted for a 2.0.1 charger: the admin's and other apps' 1.6 payloads keep working."""
    version = charger.ocpp_version
    as_16 = (
        version == OcppVersion.V201
        and operation in _TO_201
        and operation in OPERATIONS_201
        and not _valid(operation, payload, version)
        and _valid(operation, payload, OcppVersion.V16)
    )
    if operation in OPERATIONS_BY_VERSION[version] and not as_16:
        return operation, payload
    if version == OcppVersion.V201 and operation in _TO_201:
        name, convert = _TO_201[operation]
        try:
            return name, convert(charger, payload)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ApplicationError(
                f"Invalid {operation} payload: {exc!r} is missing or malformed.", field="payload"
            ) from exc
    known = operation in OPERATIONS_16 or operation in OPERATIONS_201
    if not known:
        raise ApplicationError(f"Unknown operation {operation}.", field="operation")
    hint = f" Use {_INSTEAD[operation]}." if operation in _INSTEAD else ""
    raise ApplicationError(
        f"{operation} is not an OCPP {version} operation (this charger speaks {version}).{hint}",
        field="operation",
    )
