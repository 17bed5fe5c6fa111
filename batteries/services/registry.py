"""The fleet registry: creating batteries with their identifiers, deleting them after archiving."""

import csv
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import CustomerAccount
from accounts.postcodes import normalise_postcode, outward_code
from config.exceptions import ApplicationError, InvalidInput

from ..models import Battery, BatteryAlert, BatteryInstruction, BatteryReading, IdentifierCounter

DELETE_ALL_CONFIRMATION = "delete-all-batteries"


def _next_counter(prefix: str) -> int:
    """Take the next number for ``prefix`` atomically: the upsert holds the counter row's lock
    until the creating transaction ends, so concurrent creations in one district queue up and
    each gets its own number (and a rolled-back creation gives its number back)."""
    table = IdentifierCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, last_value) VALUES (%s, 1) "  # noqa: S608 (table name)
            f"ON CONFLICT (prefix) DO UPDATE SET last_value = {table}.last_value + 1 "
            "RETURNING last_value",
            [prefix],
        )
        return cursor.fetchone()[0]


def _capacity_label(capacity_kwh: Decimal) -> str:
    """10.00 -> ``10``, 13.50 -> ``13.5``."""
    return format(capacity_kwh.normalize(), "f")


def identifier_format(*, prefix: str, number: int, capacity_kwh: Decimal) -> str:
    """``N1``, 10, 10 kWh -> ``N1-000A-10``. Past FFFF the counter simply grows a digit."""
    return f"{prefix.upper()}-{number:04X}-{_capacity_label(capacity_kwh)}"


def _decimal(value, field: str, errors: dict) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        errors[field] = ["A number is required."]
        return None


def _reserves(min_soc_reserve, max_soc_reserve, errors: dict) -> tuple:
    low = _decimal(min_soc_reserve, "min_soc_reserve", errors)
    high = _decimal(max_soc_reserve, "max_soc_reserve", errors)
    for name, value in (("min_soc_reserve", low), ("max_soc_reserve", high)):
        if value is not None and not 0 <= value <= 100:
            errors[name] = ["A reserve is a percentage from 0 to 100."]
    if low is not None and high is not None and "min_soc_reserve" not in errors and low >= high:
        errors["min_soc_reserve"] = ["The minimum reserve must be below the maximum."]
    return low, high


def _check_location(location, errors: dict) -> None:
    if not (location or "").strip():
        errors["location"] = ["Say where the unit is, e.g. Garage."]


@transaction.atomic
def _full_clean(battery: Battery) -> None:
    """The model's own checks, refused in the batteries' error type."""
    try:
        battery.full_clean(exclude=["identifier"])
    except ValidationError as exc:
        raise InvalidInput.from_model(exc) from exc


def battery_create(
    *,
    account: CustomerAccount,
    location: str,
    postcode: str,
    capacity_kwh: Decimal,
    vendor: str,
    model: str,
    ip_address: str | None = None,
    min_soc_reserve: Decimal = Decimal(10),
    max_soc_reserve: Decimal = Decimal(100),
) -> Battery:
    """Register a unit. Its identifier is PREFIX-XXXX-CAP: the postcode district, the district's
    next hexadecimal number, the capacity in kWh."""
    errors: dict[str, list[str]] = {}
    try:
        postcode = normalise_postcode(postcode)
    except ValidationError as exc:  # accounts' postcode rule
        errors["postcode"] = exc.messages
    capacity = _decimal(capacity_kwh, "capacity_kwh", errors)
    if capacity is not None and not capacity > 0:
        errors["capacity_kwh"] = ["Capacity must be greater than 0 kWh."]
    elif capacity is not None and capacity != capacity.quantize(Decimal("0.01")):
        errors["capacity_kwh"] = ["Capacity has at most 2 decimal places."]
    elif capacity is not None and capacity >= 10_000:
        errors["capacity_kwh"] = ["Capacity must be below 10,000 kWh."]
    low, high = _reserves(min_soc_reserve, max_soc_reserve, errors)
    _check_location(location, errors)
    if errors:
        raise InvalidInput(errors)

    prefix = outward_code(postcode)
    identifier = identifier_format(
        prefix=prefix, number=_next_counter(prefix), capacity_kwh=capacity
    )
    battery = Battery(
        identifier=identifier,
        account=account,
        location=location.strip(),
        postcode=postcode,
        capacity_kwh=capacity,
        ip_address=ip_address or None,
        vendor=vendor,
        model=model,
        min_soc_reserve=low,
        max_soc_reserve=high,
    )
    _full_clean(battery)
    battery.save(force_insert=True)
    return battery


# The identifier (district, number, capacity) is the unit's name for good; everything else may
# change. Telemetry-reported state changes only through telemetry.
BATTERY_CHANGES = frozenset(
    {"account", "location", "postcode", "vendor", "model", "ip_address"}
    | {"min_soc_reserve", "max_soc_reserve"}
)


@transaction.atomic
def battery_update(*, battery: Battery, **changes) -> Battery:
    """Change a unit's registry fields (``BATTERY_CHANGES``) under the rules battery_create
    keeps: a UK postcode, a location, reserves from 0 to 100 with the minimum below the
    maximum (checked against the stored value of the one not given). The identifier, and so
    the capacity it names, never changes."""
    if unknown := set(changes) - BATTERY_CHANGES:
        raise InvalidInput({name: ["This field cannot be changed."] for name in unknown})
    battery = Battery.objects.select_for_update().get(pk=battery.pk)
    errors: dict[str, list[str]] = {}
    if "postcode" in changes:
        try:
            changes["postcode"] = normalise_postcode(changes["postcode"])
        except ValidationError as exc:  # accounts' postcode rule
            errors["postcode"] = exc.messages
    if "location" in changes:
        _check_location(changes["location"], errors)
        changes["location"] = (changes["location"] or "").strip()
    if "ip_address" in changes:
        changes["ip_address"] = changes["ip_address"] or None
    if {"min_soc_reserve", "max_soc_reserve"} & set(changes):
        changes["min_soc_reserve"], changes["max_soc_reserve"] = _reserves(
            changes.get("min_soc_reserve", battery.min_soc_reserve),
            changes.get("max_soc_reserve", battery.max_soc_reserve),
            errors,
        )
    if errors:
        raise InvalidInput(errors)
    for name, value in changes.items():
        setattr(battery, name, value)
    _full_clean(battery)
    battery.save(update_fields=[*changes])
    return battery


@dataclass(frozen=True)
class Archive:
    folder: Path
    batteries: int
    readings: int
    alerts: int
    instructions: int


def _write_csv(path: Path, header: list[str], rows) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


def batteries_archive(*, batteries: QuerySet, label: str) -> Archive:
    """Write the batteries, their whole telemetry history, alerts and instructions to CSV files in
    a new folder under ``BATTERIES_ARCHIVE_DIR``; files are flushed to disk before returning."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S.%fZ")
    folder = Path(settings.BATTERIES_ARCHIVE_DIR) / f"{stamp}-{label}"
    folder.mkdir(parents=True, exist_ok=False)
    ids = batteries.values("pk")
    battery_fields = [
        "id", "identifier", "account__account_number", "location", "postcode", "capacity_kwh",
        "ip_address", "vendor", "model", "min_soc_reserve", "max_soc_reserve", "soc_percent",
        "power_kw", "voltage_v", "temperature_c", "status", "flag", "last_seen", "created_at",
    ]  # fmt: skip
    reading_fields = [
        "battery_id", "battery__identifier", "at", "soc_percent", "power_kw", "voltage_v",
        "temperature_c", "status", "flag", "source", "received_at",
    ]  # fmt: skip
    alert_fields = [
        "id", "battery_id", "battery__identifier", "rule", "severity", "status", "message",
        "opened_at", "acknowledged_at", "acknowledged_by__email", "resolved_at",
    ]  # fmt: skip
    instruction_fields = [
        "id", "battery_id", "battery__identifier", "source", "rule__name", "requested_by__email",
        "action", "power_kw", "reserve_soc", "status", "created_at", "expires_at", "sent_at",
        "refreshed_at", "answered_at", "finished_at", "detail",
    ]  # fmt: skip

    def rows(queryset, fields, order):
        return queryset.order_by(*order).values_list(*fields).iterator(chunk_size=5000)

    return Archive(
        folder=folder,
        batteries=_write_csv(
            folder / "batteries.csv",
            battery_fields,
            rows(Battery.objects.filter(pk__in=ids), battery_fields, ["identifier"]),
        ),
        readings=_write_csv(
            folder / "readings.csv",
            reading_fields,
            rows(BatteryReading.objects.filter(battery__in=ids), reading_fields, ["battery", "at"]),
        ),
        alerts=_write_csv(
            folder / "alerts.csv",
            alert_fields,
            rows(BatteryAlert.objects.filter(battery__in=ids), alert_fields, ["opened_at"]),
        ),
        instructions=_write_csv(
            folder / "instructions.csv",
            instruction_fields,
            rows(
                BatteryInstruction.objects.filter(battery__in=ids),
                instruction_fields,
                ["created_at"],
            ),
        ),
    )


@transaction.atomic
def battery_delete(*, battery: Battery) -> Archive:
    """Archive the battery's history to CSV, then delete it with its history."""
    locked = Battery.objects.select_for_update().filter(pk=battery.pk)
    archive = batteries_archive(batteries=locked, label=battery.identifier)
    locked.delete()
    return archive


@transaction.atomic
def batteries_delete_all(*, confirmation: str) -> Archive:
    """Delete every battery, only when ``confirmation`` is ``delete-all-batteries``; every
    battery's history is archived to CSV first, so nothing is lost."""
    if confirmation != DELETE_ALL_CONFIRMATION:
        raise ApplicationError(
            f"Deleting every battery needs confirm={DELETE_ALL_CONFIRMATION}.", field="confirm"
        )
    # Lock the whole fleet so no battery is created or sends telemetry between archive and delete.
    everything = Battery.objects.select_for_update().all()
    list(everything.values_list("pk", flat=True))
    archive = batteries_archive(batteries=Battery.objects.all(), label="all")
    Battery.objects.all().delete()
    return archive
