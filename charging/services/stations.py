"""What an OCPP 2.0.1 station tells the CSMS that 1.6 had no room for, and the shapes 2.0.1
gives what 1.6 also had (boot details, id tokens, sampled values), turned into the ones the
version-neutral services take: one store, whichever version a charger speaks."""

from datetime import UTC
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from ..models import (
    Charger,
    ChargerEvent,
    DeviceModelVariable,
    IdTag,
    Reservation,
    ReservationStatus,
)
from .common import _anomaly, parse_ocpp_time
from .tags import id_tag_info

_DEVICE_TEXT_MAX = 2500  # DeviceModelVariable.value: a 2.0.1 attribute value is a string(2500)


def boot_fields_from_201(charging_station: dict) -> dict:
    """A 2.0.1 ``chargingStation`` (snake_case) as the 1.6 BootNotification keys
    ``boot_notification_record`` stores."""
    modem = charging_station.get("modem") or {}
    return {
        "charge_point_vendor": charging_station.get("vendor_name"),
        "charge_point_model": charging_station.get("model"),
        "charge_point_serial_number": charging_station.get("serial_number"),
        "firmware_version": charging_station.get("firmware_version"),
        "iccid": modem.get("iccid"),
        "imsi": modem.get("imsi"),
    }


# idToken types a CSMS cannot look up in its tag registry: "NoAuthorization" is accepted as it is
# (the station charges without authorization, C01 free vend); the others are looked up by value.
_NO_AUTHORIZATION = "NoAuthorization"


def id_token_info_201(*, id_token: dict, starting: bool = False) -> dict:
    """The 2.0.1 IdTokenInfo (snake_case) for an IdToken ``{id_token, type}``: the tag registry's
    answer, with Unknown for a token it does not hold (1.6 says Invalid for both)."""
    if id_token.get("type") == _NO_AUTHORIZATION:
        return {"status": "Accepted"}
    value = id_token.get("id_token") or ""
    if not IdTag.objects.filter(id_tag__iexact=value).exists():
        return {"status": "Unknown"}
    info = id_tag_info(id_tag=value, starting=starting)
    answer = {"status": info["status"]}
    if info.get("expiry_date"):
        answer["cache_expiry_date_time"] = info["expiry_date"]
    if info.get("parent_id_tag"):
        answer["group_id_token"] = {"id_token": info["parent_id_tag"], "type": "Central"}
    return answer


def _scaled(value, multiplier: int) -> str:
    try:
        number = Decimal(str(value)).scaleb(multiplier)
    except (InvalidOperation, ValueError):
        return str(value)
    return format(number.normalize(), "f") if number.is_finite() else str(value)


def meter_values_from_201(meter_values: list) -> list:
    """2.0.1 MeterValueType items (snake_case) as the 1.6 shape the meter-value store reads:
    ``value`` a string (the number times 10^multiplier), ``unit`` from unitOfMeasure."""
    converted = []
    for meter_value in meter_values or []:
        samples = []
        for sampled in meter_value.get("sampled_value") or []:
            unit = sampled.get("unit_of_measure") or {}
            samples.append(
                {
                    "value": _scaled(sampled.get("value"), int(unit.get("multiplier") or 0)),
                    "measurand": sampled.get("measurand"),
                    "phase": sampled.get("phase"),
                    "unit": unit.get("unit") or "Wh",
                    "context": sampled.get("context"),
                    "location": sampled.get("location"),
                    "format": "SignedData" if sampled.get("signed_meter_value") else "Raw",
                }
            )
        converted.append({"timestamp": meter_value.get("timestamp"), "sampled_value": samples})
    return converted


def _report_row(charger: Charger, item: dict, attribute: dict, now) -> DeviceModelVariable:
    component, variable = item["component"], item["variable"]
    evse = component.get("evse") or {}
    characteristics = item.get("variable_characteristics") or {}
    return DeviceModelVariable(
        charger=charger,
        component=component["name"][:50],
        component_instance=(component.get("instance") or "")[:50],
        evse_id=evse.get("id") or 0,
        evse_connector_id=evse.get("connector_id") or 0,
        variable=variable["name"][:50],
        variable_instance=(variable.get("instance") or "")[:50],
        attribute_type=attribute.get("type") or "Actual",
        value=str(attribute.get("value") or "")[:_DEVICE_TEXT_MAX],
        mutability=attribute.get("mutability") or "",
        data_type=characteristics.get("data_type") or "",
        characteristics=characteristics,
        updated_at=now,
    )


_DEVICE_KEY = [
    "charger",
    "component",
    "component_instance",
    "evse_id",
    "evse_connector_id",
    "variable",
    "variable_instance",
    "attribute_type",
]


@transaction.atomic
def device_model_record(*, charger: Charger, report_data: list) -> int:
    """Store (or refresh) each reported variable attribute of a NotifyReport part; returns how
    many. A report comes in parts (seqNo, tbc); each part is stored as it comes."""
    now = timezone.now()
    rows = {}  # one row per key: the last of a key repeated in the same part wins
    for item in report_data:
        for attribute in item.get("variable_attribute") or []:
            row = _report_row(charger, item, attribute, now)
            rows[tuple(getattr(row, name) for name in _DEVICE_KEY[1:])] = row
    DeviceModelVariable.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=_DEVICE_KEY,
        update_fields=["value", "mutability", "data_type", "characteristics", "updated_at"],
    )
    return len(rows)


def charger_events_record(*, charger: Charger, kind: str, events: list[dict]) -> None:
    """Security events and monitoring events, kept as sent (``type``, ``timestamp`` and the
    rest as detail). A timestamp that cannot be read is kept as the time received."""
    rows = []
    for event in events:
        at = parse_ocpp_time(event.get("timestamp"))
        if at is None:
            _anomaly(charger, "bad_timestamp", kind=kind, timestamp=event.get("timestamp"))
            at = timezone.now()
        detail = {k: v for k, v in event.items() if k not in ("type", "timestamp") and v}
        rows.append(
            ChargerEvent(
                charger=charger,
                kind=kind,
                type=str(event.get("type") or "")[:50],
                timestamp=at.astimezone(UTC),
                detail=detail,
            )
        )
    ChargerEvent.objects.bulk_create(rows)


def reservation_status_update(*, charger: Charger, reservation_id: int, status: str) -> None:
    """A 2.0.1 station says a reservation ended: Expired or Removed."""
    Reservation.objects.filter(
        pk=reservation_id,
        charger=charger,
        status__in=[ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED],
    ).update(status=ReservationStatus.CANCELLED)
    if status not in ("Expired", "Removed"):
        _anomaly(charger, "reservation_status_unknown", status=status)
