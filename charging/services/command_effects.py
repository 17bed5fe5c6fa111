"""What an accepted command changes on this side: reservations, charging profiles, the local
authorization list and its version, a rotated key."""

from ..models import (
    Charger,
    ChargerCommand,
    ChargingProfile,
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
