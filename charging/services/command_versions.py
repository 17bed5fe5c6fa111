"""Which operations each OCPP version takes, and the 1.6 operations that have a 2.0.1 form.

One operator API for both versions: ``POST /api/v1/chargers/{id}/commands/{Operation}`` takes
the operations of the charger's version (``OPERATIONS_BY_VERSION``). The 1.6 operations the
portal, the admin and other apps send (remote start/stop, reset, availability, unlock, trigger,
charging profiles...) are also taken for a 2.0.1 station and sent as their 2.0.1 form
(``to_201``), so those callers need not know the version. A 1.6 operation without one (its
payload has no 2.0.1 meaning, e.g. ChangeConfiguration) is refused naming the 2.0.1 operation
to use instead.
"""

from config.exceptions import ApplicationError, InvalidInput

from ..models import INT32_MAX, OcppVersion, Transaction
from ..ocpp_adapter import call_payload_errors, call_payload_fields

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


class InvalidPayload(InvalidInput):
    """A command's payload refused: ``errors`` names each field by its path in the payload
    (``payload.csChargingProfiles.stackLevel``); the detail also names the operation."""

    def __init__(self, operation: str, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.message = f"Invalid {operation} payload: {self.message}"
        self.args = (self.message,)


_PURPOSES = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}
_TRIGGERS = {"DiagnosticsStatusNotification": "LogStatusNotification"}


def _evse(connector_id: int | None) -> dict:
    return {"id": connector_id} if connector_id else {}


def _transaction_uid(charger, transaction_id, path: str = "payload.transactionId") -> str:
    """The 2.0.1 transactionId of the session a 1.6-style integer names."""
    if isinstance(transaction_id, int) and 1 <= transaction_id <= INT32_MAX:
        row = Transaction.objects.filter(pk=transaction_id, charger=charger).first()
        if row is not None and row.transaction_uid:
            return row.transaction_uid
    raise InvalidInput({path: [f"{transaction_id!r} is not a session of this 2.0.1 charger"]})


def profile_to_201(charger, profile: dict, path: str = "payload.csChargingProfiles") -> dict:
    """A 1.6 csChargingProfiles as a 2.0.1 ChargingProfileType (one schedule, id = the
    profile's); ``path`` is where the profile is in the 1.6 payload (for a refusal)."""
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
        converted["transactionId"] = _transaction_uid(
            charger, profile["transactionId"], f"{path}.transactionId"
        )
    return converted


def _start(charger, payload: dict) -> dict:
    converted = {"idToken": {"idToken": payload.get("idTag"), "type": "Central"}}
    converted["remoteStartId"] = 0
    if payload.get("connectorId"):
        converted["evseId"] = payload["connectorId"]
    if "chargingProfile" in payload:
        converted["chargingProfile"] = profile_to_201(
            charger, payload["chargingProfile"], "payload.chargingProfile"
        )
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


def _set_profile(charger, payload: dict) -> dict:
    """A 1.6 TxProfile may leave out its transaction (the one running at the connector); a
    2.0.1 one names it, so it gets the transaction running at that EVSE, if one does."""
    profile = profile_to_201(charger, payload["csChargingProfiles"])
    connector_id = payload["connectorId"]
    if (
        profile["chargingProfilePurpose"] == "TxProfile"
        and "transactionId" not in profile
        and 1 <= connector_id <= INT32_MAX  # the rules refuse others, once converted
    ):
        running = Transaction.objects.filter(
            charger=charger, connector_id=connector_id, stopped_at__isnull=True
        ).exclude(transaction_uid="")
        uid = running.values_list("transaction_uid", flat=True).first()
        if uid:
            profile["transactionId"] = uid
    return {"evseId": connector_id, "chargingProfile": profile}


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
    "SetChargingProfile": ("SetChargingProfile", _set_profile),
    "ClearChargingProfile": ("ClearChargingProfile", _clear_profile),
    "GetCompositeSchedule": (
        "GetCompositeSchedule",
        lambda charger, p: (
            {"evseId": p.get("connectorId"), "duration": p.get("duration")}
            | ({"chargingRateUnit": p["chargingRateUnit"]} if "chargingRateUnit" in p else {})
        ),
    ),
}


def _fits_16(operation: str, payload: dict) -> bool:
    """The payload has the top-level fields of the operation's 1.6 form (all it requires and
    none it lacks), so it was written for 1.6, however wrong its values are."""
    fields, required = call_payload_fields(operation, OcppVersion.V16)
    return required <= payload.keys() <= fields


def operation_for_version(charger, operation: str, payload: dict) -> tuple[str, dict]:
    """``(operation, payload)`` as the charger's version takes them; ApplicationError naming
    the field for an operation its version does not have. A 1.6 operation with a 2.0.1 form
    (``_TO_201``) sent to a 2.0.1 charger in its 1.6 form is checked against the 1.6 schema
    (InvalidPayload naming the fields as they were sent) and converted: the admin's and other
    apps' 1.6 payloads keep working. One both versions have (Reset, UnlockConnector...) is
    taken as it is when it is a valid 2.0.1 payload or does not have the 1.6 form."""
    version = charger.ocpp_version
    if version == OcppVersion.V201 and operation in _TO_201:
        native = operation in OPERATIONS_201
        if native and (
            not call_payload_errors(operation, payload, version) or not _fits_16(operation, payload)
        ):
            return operation, payload
        errors = call_payload_errors(operation, payload, OcppVersion.V16)
        if errors:
            raise InvalidPayload(operation, errors)
        name, convert = _TO_201[operation]
        return name, convert(charger, payload)
    if operation in OPERATIONS_BY_VERSION[version]:
        return operation, payload
    known = operation in OPERATIONS_16 or operation in OPERATIONS_201
    if not known:
        raise ApplicationError(f"Unknown operation {operation}.", field="operation")
    hint = f" Use {_INSTEAD[operation]}." if operation in _INSTEAD else ""
    raise ApplicationError(
        f"{operation} is not an OCPP {version} operation (this charger speaks {version}).{hint}",
        field="operation",
    )
