"""Telemetry: validating readings, appending them to history, updating the current state.

A reading is the unit's state at one instant. Rules (the same for REST and MQTT):
SoC 0-100 %, temperature -50..100 C, voltage >= 0 V, power within +-1000 kW, status and flag from
their sets, timestamp plausible by the shared rule (``config.inputs.datetime_plausible``: not
before INPUT_EARLIEST_DATETIME, a device clock up to READING_MAX_CLOCK_SKEW_SECONDS ahead is
accepted). A timestamp without an offset is read in ``settings.TIME_ZONE``.

Replaying a stored reading changes nothing; the same battery and timestamp with other values is a
conflict. A reading older than the battery's newest goes to history without touching the current
state.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.exceptions import Conflict, InvalidInput
from config.inputs import InputError, datetime_plausible, to_decimal

from .. import selectors
from ..models import Battery, BatteryFlag, BatteryReading, BatteryStatus
from ..sql import field_in
from .monitoring import monitoring_run

_RANGES = {
    "soc_percent": (Decimal(0), Decimal(100), "State of charge must be between 0 and 100 %."),
    "temperature_c": (Decimal(-50), Decimal(100), "Temperature must be between -50 and 100 C."),
    "voltage_v": (Decimal(0), Decimal(10_000), "Voltage must be 0 V or more (below 10,000 V)."),
    "power_kw": (Decimal(-1000), Decimal(1000), "Power must be between -1000 and 1000 kW."),
}
# Room for every range above with its places; larger numbers are out of range anyway.
_DIGITS = 12
_PLACES = {
    "soc_percent": Decimal("0.01"),
    "temperature_c": Decimal("0.01"),
    "voltage_v": Decimal("0.01"),
    "power_kw": Decimal("0.001"),
}


@dataclass(frozen=True)
class ReadingValues:
    at: datetime
    soc_percent: Decimal
    power_kw: Decimal
    voltage_v: Decimal
    temperature_c: Decimal
    status: str
    flag: str

    def same_as(self, reading: BatteryReading) -> bool:
        return all(getattr(self, f.name) == getattr(reading, f.name) for f in fields(self))


def _parse_time(value, default: datetime, now: datetime) -> datetime:
    """The reading's time from the client's value, checked by the shared rule; ``default`` (our
    own clock: when received) when there is none. Raises ValueError with the rule's words."""
    if value is None or value == "":
        return default
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = parse_datetime(str(value))
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError("Give an ISO 8601 timestamp, e.g. 2026-01-31T13:30:00Z.")
    if timezone.is_naive(parsed):
        try:
            parsed = timezone.make_aware(parsed)
        except (OverflowError, ValueError) as exc:
            raise ValueError("The timestamp is outside the supported range.") from exc
    try:
        # Convertible to UTC (year 1 with an offset is not), not before the earliest accepted
        # datetime, not ahead of the clock by more than the allowed skew: the rule every door uses.
        return datetime_plausible(parsed, now=now)
    except InputError as exc:
        raise ValueError(exc.message) from exc


def reading_values_parse(
    data: Mapping, *, default_at: datetime | None = None, now: datetime | None = None
) -> ReadingValues:
    """Turn a client's reading (JSON-like values) into checked values, or raise InvalidInput
    naming every field that breaks a rule. A missing timestamp is ``default_at`` (MQTT: when the
    message was received), else now."""
    if not isinstance(data, Mapping):
        raise InvalidInput({"non_field_errors": ["A reading is a JSON object."]})
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    values: dict = {}
    try:
        values["at"] = _parse_time(data.get("timestamp"), default_at or now, now)
    except ValueError as exc:
        errors["timestamp"] = [str(exc)]
    for name, (low, high, rule) in _RANGES.items():
        raw = data.get(name)
        if raw is None or raw == "" or isinstance(raw, bool):
            errors[name] = ["This field is required (a number)."]
            continue
        try:
            # Bounded before it is compared: 1e400, a megabyte of digits and NaN are refused by
            # the shared rule instead of raising from quantize.
            number = to_decimal(
                raw if isinstance(raw, int | Decimal) else str(raw),
                max_digits=_DIGITS,
                decimal_places=-_PLACES[name].as_tuple().exponent,
            )
        except InputError as exc:
            errors[name] = [rule if exc.code in ("out_of_range", "not_finite") else exc.message]
            continue
        if not low <= number <= high:
            errors[name] = [rule]
            continue
        values[name] = number
    status = data.get("status")
    if not isinstance(status, str) or status not in BatteryStatus.values:
        errors["status"] = [f"Status must be one of {', '.join(BatteryStatus.values)}."]
    values["status"] = status
    flag = data.get("flag", BatteryFlag.OK)
    if not isinstance(flag, str) or flag not in BatteryFlag.values:
        errors["flag"] = [f"Flag must be one of {', '.join(BatteryFlag.values)}."]
    values["flag"] = flag
    if errors:
        raise InvalidInput(errors)
    return ReadingValues(**values)


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0


def _new_readings(
    readings: Sequence[tuple[Battery, ReadingValues]],
    batteries: dict,
    *,
    skip_conflicts: bool,
    result: IngestResult,
) -> dict[tuple, ReadingValues]:
    """The readings not yet stored, by (battery id, time): a repeat within the batch or of a
    stored reading is counted a duplicate; a contradicting one is a conflict (``_conflict``)."""
    incoming: dict[tuple, ReadingValues] = {}
    for battery, values in readings:
        key = (battery.pk, values.at)
        seen = incoming.get(key)
        if seen is None:
            incoming[key] = values
        elif seen == values:
            result.duplicates += 1
        else:
            _conflict(battery, values, skip_conflicts, result)

    stored = BatteryReading.objects.filter(
        field_in("battery_id", batteries, "uuid"),
        field_in("at", {at for _, at in incoming}, "timestamptz"),
    )
    for reading in stored:
        values = incoming.get((reading.battery_id, reading.at))
        if values is None:
            continue
        del incoming[(reading.battery_id, reading.at)]
        if values.same_as(reading):
            result.duplicates += 1
        else:
            _conflict(batteries[reading.battery_id], values, skip_conflicts, result)
    return incoming


@transaction.atomic
def readings_ingest(
    *,
    readings: Sequence[tuple[Battery, ReadingValues]],
    source: str,
    skip_conflicts: bool = False,
) -> IngestResult:
    """Append readings to history and move each battery's current state to its newest reading,
    then run the monitoring rules on those batteries.

    A reading identical to a stored one is counted as a duplicate and changes nothing. One that
    contradicts a stored reading (same battery and timestamp, other values) raises Conflict and
    stores nothing, unless ``skip_conflicts`` (MQTT, where a sender cannot be answered) drops just
    that reading.
    """
    result = IngestResult()
    if not readings:
        return result
    batteries = {battery.pk: battery for battery, _ in readings}
    # The batch's batteries are locked (in id order, as everywhere) before stored readings are
    # looked at: a concurrent batch with a contradicting reading then sees this one's and is
    # refused, instead of both "storing" and the unique index silently dropping one.
    list(
        Battery.objects.select_for_update(no_key=True)
        .filter(field_in("pk", batteries, "uuid"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    incoming = _new_readings(readings, batteries, skip_conflicts=skip_conflicts, result=result)

    # Inserted in key order: two batches sharing readings then wait for each other on the
    # unique index in the same order, and never deadlock.
    BatteryReading.objects.bulk_create(
        [
            BatteryReading(battery_id=battery_id, source=source, **vars(values))
            for (battery_id, _), values in sorted(incoming.items(), key=lambda item: item[0])
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )
    result.stored = len(incoming)
    newest: dict = {}
    for (battery_id, at), values in incoming.items():
        if battery_id not in newest or at > newest[battery_id].at:
            newest[battery_id] = values
    _update_current_state(newest)
    monitoring_run(battery_ids=list(newest))
    return result


BULK_MAX_READINGS = 10_000


def readings_ingest_bulk(*, user, items: object, source: str) -> IngestResult:
    """Up to BULK_MAX_READINGS raw readings (dicts naming their ``battery`` by UUID or
    identifier) of batteries the user may see, all or nothing: one bad reading stores none, and
    the error names it (``readings[<index>].<field>``)."""
    if not isinstance(items, list) or not items:
        raise InvalidInput({"readings": ["Give a non-empty list of readings."]})
    if len(items) > BULK_MAX_READINGS:
        raise InvalidInput({"readings": [f"At most {BULK_MAX_READINGS} per request."]})
    keys = [_battery_key(item) for item in items]
    batteries = selectors.batteries_by_key(user=user, keys=[key for key in keys if key])
    readings, errors = [], {}
    for index, (item, key) in enumerate(zip(items, keys, strict=True)):
        if not isinstance(item, dict):
            errors[f"readings[{index}]"] = ["A reading is a JSON object."]
            continue
        battery = batteries.get(key) if key else None
        if battery is None:
            errors[f"readings[{index}].battery"] = [
                f"No battery {key}." if key else "Name the battery by its UUID or identifier."
            ]
            continue
        try:
            readings.append((battery, reading_values_parse(item)))
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                errors[f"readings[{index}].{field}"] = messages
    if errors:
        raise InvalidInput(errors)
    return readings_ingest(readings=readings, source=source)


# A battery's key is its UUID or identifier: anything longer is no battery's.
_KEY_MAX_LENGTH = 64


def _battery_key(item: object) -> str:
    """The item's battery key when it is a usable text, else "" (a poison item is refused by its
    index and rule, never looked up)."""
    key = item.get("battery") if isinstance(item, dict) else None
    if not isinstance(key, str) or not key or len(key) > _KEY_MAX_LENGTH or "\x00" in key:
        return ""
    return key


def _conflict(battery: Battery, values: ReadingValues, skip: bool, result: IngestResult) -> None:
    if not skip:
        raise Conflict(
            f"Battery {battery.identifier} already has a different reading at "
            f"{values.at.isoformat()}; readings are append-only.",
            field="timestamp",
        )
    result.conflicts += 1


_STATE_FIELDS = ("soc_percent", "power_kw", "voltage_v", "temperature_c", "status")


def _update_current_state(newest: dict) -> None:
    """Move each battery's current state to its incoming newest reading unless the battery has
    seen a newer one.

    The batteries are locked first in id order, so two concurrent batches (or a batch and a
    monitoring pass) queue instead of deadlocking; NO KEY UPDATE, so inserts of readings, alerts
    and instructions that reference them are not held up. PostgreSQL then does it in one UPDATE
    from arrays (Django's bulk_update spends seconds building CASE expressions for thousands)."""
    locked = list(
        Battery.objects.select_for_update(no_key=True)
        .filter(field_in("pk", newest, "uuid"))
        .order_by("pk")
        .values_list("pk", "last_seen")
    )
    changed = [
        (pk, newest[pk])
        for pk, last_seen in locked
        if last_seen is None or last_seen < newest[pk].at
    ]
    if not changed:
        return
    if connection.vendor == "postgresql":
        table = Battery._meta.db_table
        columns = [[pk for pk, _ in changed], [values.at for _, values in changed]]
        columns += [[getattr(values, name) for _, values in changed] for name in _STATE_FIELDS]
        columns.append([values.flag for _, values in changed])
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS b SET soc_percent = v.soc, power_kw = v.power, "  # noqa: S608
                "voltage_v = v.voltage, temperature_c = v.temperature, status = v.status, "
                "reported_flag = v.flag, last_seen = v.at "
                "FROM unnest(%s::uuid[], %s::timestamptz[], %s::numeric[], %s::numeric[], "
                "%s::numeric[], %s::numeric[], %s::text[], %s::text[]) "
                "AS v(id, at, soc, power, voltage, temperature, status, flag) "
                "WHERE b.id = v.id",
                columns,
            )
        return
    batteries = []
    for pk, values in changed:
        battery = Battery(pk=pk, reported_flag=values.flag, last_seen=values.at)
        for name in _STATE_FIELDS:
            setattr(battery, name, getattr(values, name))
        batteries.append(battery)
    Battery.objects.bulk_update(
        batteries, [*_STATE_FIELDS, "reported_flag", "last_seen"], batch_size=500
    )


def reading_record(
    *, battery: Battery, data: Mapping, source: str, default_at: datetime | None = None
) -> IngestResult:
    """Validate and store one reading (see ``readings_ingest``)."""
    values = reading_values_parse(data, default_at=default_at)
    return readings_ingest(readings=[(battery, values)], source=source)
