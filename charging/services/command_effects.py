"""What an accepted command changes on this side: reservations, charging profiles, the local
authorization list and its version, a rotated key - for each version's payloads (``_APPLY``
for 1.6, ``_APPLY_201`` for 2.0.1)."""

from ..models import (
    Charger,
    ChargerCommand,
    ChargingProfile,
    DeviceModelVariable,
    LocalAuthListEntry,
    Reservation,
    ReservationStatus,
)
from .common import parse_ocpp_time


def _apply_reserve(command: ChargerCommand, response: dict) -> None:
    Reservation.objects.filter(pk=command.payload["reservationId"]).update(
        status=ReservationStatus.ACCEPTED
    )


def _apply_cancel_reservation(command: ChargerCommand, response: dict) -> None:
    Reservation.objects.filter(pk=command.payload["reservationId"], charger=command.charger).update(
        status=ReservationStatus.CANCELLED
    )


def _apply_set_profile(command: ChargerCommand, response: dict) -> None:
    profile = command.payload["csChargingProfiles"]
    ChargingProfile.objects.update_or_create(
        charger=command.charger,
        profile_id=profile["chargingProfileId"],
        defaults={
            "connector_id": command.payload["connectorId"],
            "stack_level": profile["stackLevel"],
            "purpose": profile["chargingProfilePurpose"],
            "kind": profile["chargingProfileKind"],
            "profile": profile,
        },
    )


def _apply_clear_profile(command: ChargerCommand, response: dict) -> None:
    payload = command.payload
    profiles = ChargingProfile.objects.filter(charger=command.charger)
    if "id" in payload:
        profiles = profiles.filter(profile_id=payload["id"])
    if "connectorId" in payload:
        profiles = profiles.filter(connector_id=payload["connectorId"])
    if "chargingProfilePurpose" in payload:
        profiles = profiles.filter(purpose=payload["chargingProfilePurpose"])
    if "stackLevel" in payload:
        profiles = profiles.filter(stack_level=payload["stackLevel"])
    profiles.delete()


def _apply_local_list(command: ChargerCommand, response: dict) -> None:
    payload = command.payload
    charger = command.charger
    if payload["updateType"] == "Full":
        LocalAuthListEntry.objects.filter(charger=charger).delete()
    for entry in payload.get("localAuthorizationList") or []:
        info = entry.get("idTagInfo")
        if info is None:
            LocalAuthListEntry.objects.filter(charger=charger, id_tag=entry["idTag"]).delete()
            continue
        LocalAuthListEntry.objects.update_or_create(
            charger=charger,
            id_tag=entry["idTag"],
            defaults={
                "status": info["status"],
                "expires_at": parse_ocpp_time(info.get("expiryDate")),
                "parent_id_tag": info.get("parentIdTag") or "",
            },
        )
    Charger.objects.filter(pk=charger.pk).update(local_list_version=payload["listVersion"])


def _apply_configuration(command: ChargerCommand, response: dict) -> None:
    if command.new_key_digest and command.payload.get("key") == "AuthorizationKey":
        Charger.objects.filter(pk=command.charger_id).update(password_hash=command.new_key_digest)


def _apply_list_version(command: ChargerCommand, response: dict) -> None:
    Charger.objects.filter(pk=command.charger_id).update(
        local_list_version=response.get("listVersion", 0)
    )


_APPLY = {
    "ReserveNow": _apply_reserve,
    "CancelReservation": _apply_cancel_reservation,
    "SetChargingProfile": _apply_set_profile,
    "ClearChargingProfile": _apply_clear_profile,
    "SendLocalList": _apply_local_list,
    "GetLocalListVersion": _apply_list_version,
    "ChangeConfiguration": _apply_configuration,
}


def _apply_reserve_201(command: ChargerCommand, response: dict) -> None:
    Reservation.objects.filter(pk=command.payload["id"]).update(status=ReservationStatus.ACCEPTED)


def _apply_set_profile_201(command: ChargerCommand, response: dict) -> None:
    profile = command.payload["chargingProfile"]
    ChargingProfile.objects.update_or_create(
        charger=command.charger,
        profile_id=profile["id"],
        defaults={
            "connector_id": command.payload["evseId"],
            "stack_level": profile["stackLevel"],
            "purpose": profile["chargingProfilePurpose"],
            "kind": profile["chargingProfileKind"],
            "profile": profile,
        },
    )


def _apply_clear_profile_201(command: ChargerCommand, response: dict) -> None:
    payload = command.payload
    criteria = payload.get("chargingProfileCriteria") or {}
    profiles = ChargingProfile.objects.filter(charger=command.charger)
    if "chargingProfileId" in payload:
        profiles = profiles.filter(profile_id=payload["chargingProfileId"])
    if "evseId" in criteria:
        profiles = profiles.filter(connector_id=criteria["evseId"])
    if "chargingProfilePurpose" in criteria:
        profiles = profiles.filter(purpose=criteria["chargingProfilePurpose"])
    if "stackLevel" in criteria:
        profiles = profiles.filter(stack_level=criteria["stackLevel"])
    profiles.delete()


def _apply_local_list_201(command: ChargerCommand, response: dict) -> None:
    payload = command.payload
    charger = command.charger
    if payload["updateType"] == "Full":
        LocalAuthListEntry.objects.filter(charger=charger).delete()
    for entry in payload.get("localAuthorizationList") or []:
        token, info = entry["idToken"]["idToken"], entry.get("idTokenInfo")
        if info is None:
            LocalAuthListEntry.objects.filter(charger=charger, id_tag=token).delete()
            continue
        LocalAuthListEntry.objects.update_or_create(
            charger=charger,
            id_tag=token[:20],
            defaults={
                "status": info["status"][:16],
                "expires_at": parse_ocpp_time(info.get("cacheExpiryDateTime")),
                "parent_id_tag": ((info.get("groupIdToken") or {}).get("idToken") or "")[:20],
            },
        )
    Charger.objects.filter(pk=charger.pk).update(local_list_version=payload["versionNumber"])


def _apply_list_version_201(command: ChargerCommand, response: dict) -> None:
    Charger.objects.filter(pk=command.charger_id).update(
        local_list_version=response.get("versionNumber", 0)
    )


def _apply_set_variables(command: ChargerCommand, response: dict) -> None:
    """Each attribute the station accepted is what its device model now holds; an accepted
    BasicAuthPassword (a key rotation) becomes the charger's key."""
    for result in response.get("setVariableResult") or []:
        if result.get("attributeStatus") != "Accepted":
            continue
        component, variable = result["component"], result["variable"]
        if command.new_key_digest and variable["name"] == "BasicAuthPassword":
            Charger.objects.filter(pk=command.charger_id).update(
                password_hash=command.new_key_digest
            )
            continue
        sent = next(
            (
                item
                for item in command.payload.get("setVariableData") or []
                if item["component"] == component and item["variable"] == variable
            ),
            None,
        )
        if sent is None:
            continue
        evse = component.get("evse") or {}
        DeviceModelVariable.objects.update_or_create(
            charger_id=command.charger_id,
            component=component["name"],
            component_instance=component.get("instance") or "",
            evse_id=evse.get("id") or 0,
            evse_connector_id=evse.get("connectorId") or 0,
            variable=variable["name"],
            variable_instance=variable.get("instance") or "",
            attribute_type=result.get("attributeType") or "Actual",
            defaults={"value": str(sent["attributeValue"])},
        )


_APPLY_201 = {
    "ReserveNow": _apply_reserve_201,
    "CancelReservation": _apply_cancel_reservation,
    "SetChargingProfile": _apply_set_profile_201,
    "ClearChargingProfile": _apply_clear_profile_201,
    "SendLocalList": _apply_local_list_201,
    "GetLocalListVersion": _apply_list_version_201,
    "SetVariables": _apply_set_variables,
}
