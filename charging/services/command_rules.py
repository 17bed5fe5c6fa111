"""The rules a command's payload must keep that the OCPP JSON schemas do not check, in one place
for every door (API, admin, portal, other apps): ``command_payload_check`` runs on a payload
that already passed its version's schema, and raises ``InvalidInput`` naming each field by its
path in the payload (``payload.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[1]
.startPeriod``) with the rule it breaks.

What is refused, and why (OCPP 1.6 edition 2 section numbers; 2.0.1 from its schemas'
descriptions and use cases):

- Every integer is an OCPP integer: 32-bit signed (both versions' "integer" type).
- Connectors (1.6 ``connectorId``; 2.0.1 ``evseId`` / ``evse.id``, which the charging app stores
  as the connector number): never negative; above 0 where the spec says ``> 0`` (1.6
  RemoteStartTransaction, UnlockConnector, TriggerMessage; 2.0.1 RequestStartTransaction,
  UnlockConnector, ReserveNow, and every ``EVSEType.id``); 0 is allowed where it addresses the
  charger as a whole (ReserveNow 1.6: any connector, SetChargingProfile, ChangeAvailability,
  ClearChargingProfile, GetCompositeSchedule). Not above the highest connector the charger has
  reported (3.5: ConnectorIds are never higher than the number of connectors); a charger that
  has reported none yet is not checked, as the central system does not know its connectors.
- ReserveNow: the expiry is a date-time in the future and at most ``RESERVATION_MAX_AHEAD``
  (30 days) ahead: a reservation blocks a connector for everyone else, and a month covers
  any booking an operator makes by hand (a longer one is a typo, e.g. a wrong year).
- Id tags in ReserveNow and remote starts: OCPP lets the station authorize the tag itself
  (5.13: it is RECOMMENDED to validate it with Authorize.req), so a tag the central system does
  not know is sent (the station may know it from its local list or a roaming partner). A tag
  the central system knows as Blocked or Expired (or whose parent is blocked) is refused: the
  station's Authorize would be answered that way, so the reservation or start could never be
  used.
- Charging profiles (SetChargingProfile, and the profile of a remote start), 1.6 and 2.0.1:
  validFrom before validTo; startSchedule a date-time; each schedule's first startPeriod 0 and
  the others strictly increasing (7.13/7.14: a period's start is the previous one's end, so a
  duplicate or unsorted start has no meaning); limits and minChargingRate ≥ 0; numberPhases
  (and 2.0.1 phaseToUse) 1 to 3; duration ≥ 0; stackLevel ≥ 0; a Recurring profile names its
  recurrencyKind. ChargePointMaxProfile (2.0.1 ChargingStationMaxProfile) only at connector 0
  (3.13.1). A TxProfile only at a connector above 0 and only while a transaction runs there
  (3.13.1, 5.16.4: "not possible ... without presence of an active transaction"); a
  transactionId only in a TxProfile and naming that transaction. In 2.0.1 a TxProfile must
  carry the transactionId (the profile is matched to the transaction by it); Absolute and
  Recurring schedules have a startSchedule and Relative ones none. In a remote start the
  profile is a TxProfile without a transactionId (5.16.2).
- ChangeConfiguration's key and SetVariables' component and variable names: not empty (their
  maximum lengths, 50 characters, are the schemas').
"""

from datetime import timedelta

from django.utils import timezone

from config.exceptions import InvalidInput
from config.inputs import InputError, json_value_check, to_utc

from ..models import Charger, Connector, IdTag, OcppVersion, Transaction
from ..ocpp_adapter import MAX_REFUSED_FIELDS
from .common import parse_ocpp_time
from .tags import ID_TOKEN_MAX

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
RESERVATION_MAX_AHEAD = timedelta(days=30)
PHASES = (1, 2, 3)


class _Check:
    """The refusals found so far, by field path, and what the checks need of the charger."""

    def __init__(self, charger: Charger):
        self.charger = charger
        self.errors: dict[str, list[str]] = {}
        self.now = timezone.now()
        self._top_connector: int | bool | None = False

    def refuse(self, path: str, message: str) -> None:
        path = f"payload{path}"
        if path not in self.errors and len(self.errors) >= MAX_REFUSED_FIELDS:
            return
        messages = self.errors.setdefault(path, [])
        if message not in messages:
            messages.append(message)

    @property
    def top_connector(self) -> int | None:
        """The highest connector the charger has reported; None if it has reported none."""
        if self._top_connector is False:
            numbers = Connector.objects.filter(charger=self.charger, connector_id__gt=0)
            self._top_connector = max(numbers.values_list("connector_id", flat=True), default=None)
        return self._top_connector

    def connector(self, payload: dict, key: str, path: str, *, lowest: int) -> None:
        if key not in payload:
            return
        value = payload[key]
        if value < lowest:
            whole = " (0 would address the charger as a whole, which this message does not)"
            self.refuse(f"{path}.{key}", f"must be ≥ {lowest}{whole if lowest else ''}")
        elif self.top_connector is not None and value > self.top_connector:
            self.refuse(
                f"{path}.{key}",
                f"is not a connector of this charger (it has reported connectors 1 to "
                f"{self.top_connector})",
            )

    def time(self, payload: dict, key: str, path: str):
        """The date-time at ``key`` in UTC (OCPP's: no offset is UTC), or None, refused."""
        if key not in payload:
            return None
        parsed = parse_ocpp_time(payload[key])
        if parsed is None:
            self.refuse(f"{path}.{key}", "must be a date-time, e.g. 2026-01-31T18:00:00Z")
            return None
        try:
            return to_utc(parsed)
        except InputError as exc:
            self.refuse(f"{path}.{key}", exc.message)
            return None

    def tag(self, value: str, path: str, *, stored: bool = False) -> None:
        """A tag the central system knows must be one it would authorize; ``stored``: the tag is
        also kept in a row of ours (a reservation), which holds an OCPP 1.6 CiString20."""
        if stored and len(value) > ID_TOKEN_MAX:
            self.refuse(path, f"is too long (at most {ID_TOKEN_MAX} characters)")
            return
        tag = IdTag.objects.filter(id_tag__iexact=value).select_related("parent").first()
        if tag is None:
            return
        status = tag.authorization_status(self.now)
        if status != "Accepted":
            self.refuse(path, f"is {status.lower()}: the central system would not authorize it")

    def not_empty(self, payload: dict, key: str, path: str) -> None:
        if key in payload and not payload[key].strip():
            self.refuse(f"{path}.{key}", "must not be empty")


def _integers(check: _Check, value, path: str = "") -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not INT32_MIN <= value <= INT32_MAX:
        check.refuse(path, f"must be an OCPP integer ({INT32_MIN} to {INT32_MAX})")
    elif isinstance(value, dict):
        for key, item in value.items():
            _integers(check, item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _integers(check, item, f"{path}[{index}]")


def _at_least(check: _Check, payload: dict, key: str, path: str, lowest) -> None:
    if key in payload and payload[key] < lowest:
        check.refuse(f"{path}.{key}", f"must be ≥ {lowest}")


def _schedule(check: _Check, schedule: dict, path: str, *, kind: str, version: str) -> None:
    check.time(schedule, "startSchedule", path)
    _at_least(check, schedule, "duration", path, 0)
    _at_least(check, schedule, "minChargingRate", path, 0)
    if version == OcppVersion.V201:
        if kind in ("Absolute", "Recurring") and "startSchedule" not in schedule:
            check.refuse(f"{path}.startSchedule", f"is required for an {kind} profile")
        if kind == "Relative" and "startSchedule" in schedule:
            check.refuse(f"{path}.startSchedule", "must not be set for a Relative profile")
    periods = schedule["chargingSchedulePeriod"]
    if not periods:
        check.refuse(f"{path}.chargingSchedulePeriod", "must have at least 1 period")
    previous = None
    for index, period in enumerate(periods):
        here = f"{path}.chargingSchedulePeriod[{index}]"
        start = period["startPeriod"]
        if index == 0 and start != 0:
            check.refuse(f"{here}.startPeriod", "must be 0: the first period starts the schedule")
        elif previous is not None and start <= previous:
            check.refuse(
                f"{here}.startPeriod",
                f"must be greater than the previous period's ({previous}): periods are in "
                "order of their start, each start once",
            )
        previous = start
        _at_least(check, period, "limit", here, 0)
        for key in ("numberPhases", "phaseToUse"):
            if key in period and period[key] not in PHASES:
                check.refuse(f"{here}.{key}", "must be 1, 2 or 3")


def _running(charger: Charger, connector_id: int | None):
    rows = Transaction.objects.filter(charger=charger, stopped_at__isnull=True)
    return rows.filter(connector_id=connector_id) if connector_id is not None else rows


def _profile(
    check: _Check,
    profile: dict,
    path: str,
    *,
    version: str,
    connector_id: int | None,
    connector_path: str,
    remote_start: bool = False,
) -> None:
    """A 1.6 csChargingProfiles / chargingProfile or a 2.0.1 ChargingProfileType."""
    v201 = version == OcppVersion.V201
    purpose, kind = profile["chargingProfilePurpose"], profile["chargingProfileKind"]
    _at_least(check, profile, "stackLevel", path, 0)
    valid_from = check.time(profile, "validFrom", path)
    valid_to = check.time(profile, "validTo", path)
    if valid_from and valid_to and valid_from >= valid_to:
        check.refuse(f"{path}.validTo", "must be after validFrom")
    if kind == "Recurring" and "recurrencyKind" not in profile:
        check.refuse(f"{path}.recurrencyKind", "is required for a Recurring profile")
    schedules = profile["chargingSchedule"] if v201 else [profile["chargingSchedule"]]
    for index, schedule in enumerate(schedules):
        here = f"{path}.chargingSchedule[{index}]" if v201 else f"{path}.chargingSchedule"
        _schedule(check, schedule, here, kind=kind, version=version)
    has_transaction = "transactionId" in profile
    if remote_start:
        if purpose != "TxProfile":
            check.refuse(
                f"{path}.chargingProfilePurpose",
                "must be TxProfile: a remote start's profile is for the transaction it starts",
            )
        if has_transaction:
            check.refuse(
                f"{path}.transactionId",
                "must not be set: the transaction this profile is for has not started yet",
            )
        return
    if purpose in ("ChargePointMaxProfile", "ChargingStationMaxProfile") and connector_id:
        check.refuse(connector_path, f"must be 0: a {purpose} is for the charger as a whole")
    if purpose != "TxProfile":
        if has_transaction:
            check.refuse(f"{path}.transactionId", "is only for a TxProfile")
        return
    if not connector_id:
        check.refuse(connector_path, "must be ≥ 1: a TxProfile is for a connector's transaction")
        return
    running = _running(check.charger, connector_id)
    if has_transaction:
        key = "transaction_uid" if v201 else "pk"
        if not running.filter(**{key: profile["transactionId"]}).exists():
            check.refuse(
                f"{path}.transactionId",
                f"is not a transaction running at connector {connector_id} of this charger",
            )
    elif not running.exists():
        check.refuse(
            f"{path}.chargingProfilePurpose",
            f"TxProfile needs a transaction running at connector {connector_id}, and none is",
        )
    elif v201:
        check.refuse(
            f"{path}.transactionId", "is required for a TxProfile (the transaction it is for)"
        )


def _reserve_now(check: _Check, payload: dict, version: str) -> None:
    v201 = version == OcppVersion.V201
    check.connector(payload, "evseId" if v201 else "connectorId", "", lowest=1 if v201 else 0)
    key = "expiryDateTime" if v201 else "expiryDate"
    expiry = check.time(payload, key, "")
    if expiry is not None and expiry <= check.now:
        check.refuse(f".{key}", "must be in the future")
    elif expiry is not None and expiry > check.now + RESERVATION_MAX_AHEAD:
        check.refuse(f".{key}", f"must be at most {RESERVATION_MAX_AHEAD.days} days ahead")
    if v201:
        check.tag(payload["idToken"]["idToken"], ".idToken.idToken", stored=True)
        if "groupIdToken" in payload:
            check.tag(payload["groupIdToken"]["idToken"], ".groupIdToken.idToken", stored=True)
    else:
        check.tag(payload["idTag"], ".idTag", stored=True)
        if "parentIdTag" in payload:
            check.tag(payload["parentIdTag"], ".parentIdTag", stored=True)


def _remote_start(check: _Check, payload: dict, version: str) -> None:
    v201 = version == OcppVersion.V201
    connector_key = "evseId" if v201 else "connectorId"
    check.connector(payload, connector_key, "", lowest=1)
    if v201:
        check.tag(payload["idToken"]["idToken"], ".idToken.idToken")
        if "groupIdToken" in payload:
            check.tag(payload["groupIdToken"]["idToken"], ".groupIdToken.idToken")
    else:
        check.tag(payload["idTag"], ".idTag")
    if "chargingProfile" in payload:
        _profile(
            check,
            payload["chargingProfile"],
            ".chargingProfile",
            version=version,
            connector_id=payload.get(connector_key),
            connector_path=f".{connector_key}",
            remote_start=True,
        )


def _set_charging_profile(check: _Check, payload: dict, version: str) -> None:
    v201 = version == OcppVersion.V201
    connector_key = "evseId" if v201 else "connectorId"
    check.connector(payload, connector_key, "", lowest=0)
    profile_key = "chargingProfile" if v201 else "csChargingProfiles"
    _profile(
        check,
        payload[profile_key],
        f".{profile_key}",
        version=version,
        connector_id=payload[connector_key],
        connector_path=f".{connector_key}",
    )


def _evse(check: _Check, payload: dict) -> None:
    if "evse" in payload:
        check.connector(payload["evse"], "id", ".evse", lowest=1)
        _at_least(check, payload["evse"], "connectorId", ".evse", 1)


def _set_variables(check: _Check, payload: dict, version: str) -> None:
    for index, item in enumerate(payload["setVariableData"]):
        here = f".setVariableData[{index}]"
        check.not_empty(item["component"], "name", f"{here}.component")
        check.not_empty(item["variable"], "name", f"{here}.variable")
        if "evse" in item["component"]:
            check.connector(item["component"]["evse"], "id", f"{here}.component.evse", lowest=1)


def _unlock(check: _Check, payload: dict, version: str) -> None:
    if version == OcppVersion.V201:
        check.connector(payload, "evseId", "", lowest=1)
        _at_least(check, payload, "connectorId", "", 1)
    else:
        check.connector(payload, "connectorId", "", lowest=1)


def _trigger(check: _Check, payload: dict, version: str) -> None:
    if version == OcppVersion.V201:
        _evse(check, payload)
    else:
        check.connector(payload, "connectorId", "", lowest=1)


def _change_availability(check: _Check, payload: dict, version: str) -> None:
    if version == OcppVersion.V201:
        _evse(check, payload)
    else:
        check.connector(payload, "connectorId", "", lowest=0)


def _clear_profile(check: _Check, payload: dict, version: str) -> None:
    if version == OcppVersion.V201:
        criteria = payload.get("chargingProfileCriteria") or {}
        check.connector(criteria, "evseId", ".chargingProfileCriteria", lowest=0)
        _at_least(check, criteria, "stackLevel", ".chargingProfileCriteria", 0)
    else:
        check.connector(payload, "connectorId", "", lowest=0)
        _at_least(check, payload, "stackLevel", "", 0)


def _composite_schedule(check: _Check, payload: dict, version: str) -> None:
    check.connector(
        payload, "evseId" if version == OcppVersion.V201 else "connectorId", "", lowest=0
    )
    _at_least(check, payload, "duration", "", 0)


_CHECKS = {
    "ReserveNow": _reserve_now,
    "RemoteStartTransaction": _remote_start,
    "RequestStartTransaction": _remote_start,
    "SetChargingProfile": _set_charging_profile,
    "ChangeConfiguration": lambda check, payload, version: check.not_empty(payload, "key", ""),
    "SetVariables": _set_variables,
    "UnlockConnector": _unlock,
    "TriggerMessage": _trigger,
    "ChangeAvailability": _change_availability,
    "ClearChargingProfile": _clear_profile,
    "GetCompositeSchedule": _composite_schedule,
}


def command_payload_check(*, charger: Charger, operation: str, payload: dict) -> None:
    """Refuse (InvalidInput, every field that breaks a rule) what the schemas let through;
    ``payload`` is the one sent, in the charger's version, valid against its schema."""
    check = _Check(charger)
    try:
        json_value_check(payload)
    except InputError as exc:
        raise InvalidInput({"payload": [exc.message]}) from exc
    _integers(check, payload)
    if not check.errors:  # the rules below compare and query with these integers
        rule = _CHECKS.get(operation)
        if rule is not None:
            rule(check, payload, charger.ocpp_version)
    if check.errors:
        raise InvalidInput(check.errors)
