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
from operator import attrgetter

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.exceptions import Conflict, InvalidInput
from config.inputs import InputError, datetime_plausible, to_decimal

from .. import selectors
from ..models import Battery, BatteryFlag, BatteryReading, BatteryStatus
from .monitoring import STATE_COLUMNS, BatteryState, monitoring_judge_batch

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
_DECIMAL_PLACES = {name: -places.as_tuple().exponent for name, places in _PLACES.items()}
# The choices' ``values`` are rebuilt on every access: a reading is checked thousands of times a
# second.
_STATUSES = frozenset(BatteryStatus.values)
_STATUS_RULE = f"Status must be one of {', '.join(BatteryStatus.values)}."
_FLAGS = frozenset(BatteryFlag.values)
_FLAG_RULE = f"Flag must be one of {', '.join(BatteryFlag.values)}."


@dataclass(frozen=True)
class ReadingValues:
    at: datetime
    soc_percent: Decimal
    power_kw: Decimal
    voltage_v: Decimal
    temperature_c: Decimal
    status: str
    flag: str


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
                decimal_places=_DECIMAL_PLACES[name],
            )
        except InputError as exc:
            errors[name] = [rule if exc.code in ("out_of_range", "not_finite") else exc.message]
            continue
        if not low <= number <= high:
            errors[name] = [rule]
            continue
        values[name] = number
    status = data.get("status")
    if not isinstance(status, str) or status not in _STATUSES:
        errors["status"] = [_STATUS_RULE]
    values["status"] = status
    flag = data.get("flag", BatteryFlag.OK)
    if not isinstance(flag, str) or flag not in _FLAGS:
        errors["flag"] = [_FLAG_RULE]
    values["flag"] = flag
    if errors:
        raise InvalidInput(errors)
    return ReadingValues(**values)


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0


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

    Set-based, whatever the batch's size (on PostgreSQL): the batch's readings are copied (COPY)
    into a session-local staging table; one round trip then locks and reads the batteries and
    finds the stored readings at the batch's (battery, time) keys; the monitoring pass reads the
    batteries' unresolved alerts and writes the alerts that change; the changed batteries' state,
    status and flag are copied into a second staging table, and one round trip appends the new
    readings and updates the batteries.
    """
    result = IngestResult()
    if not readings:
        return result
    now = timezone.now()
    batteries = {battery.pk: battery for battery, _ in readings}
    incoming = _distinct_readings(readings, skip_conflicts=skip_conflicts, result=result)
    # The batch's batteries are locked (in id order, as everywhere) before stored readings are
    # looked at: a concurrent batch with a contradicting reading then sees this one's and is
    # refused, instead of both "storing" and the unique index silently dropping one.
    states, stored = _lock_and_find_stored(incoming)
    for key, values in stored:
        if incoming[key] == values:
            result.duplicates += 1
        else:
            _conflict(batteries[key[0]], incoming[key], skip_conflicts, result)
        del incoming[key]
    result.stored = len(incoming)

    newest: dict = {}
    for (battery_id, at), values in incoming.items():
        if battery_id not in newest or at > newest[battery_id].at:
            newest[battery_id] = values
    judged = [states[battery_id] for battery_id in newest if battery_id in states]
    before = {state.id: (state.status, state.flag) for state in judged}
    moved = set()
    for state in judged:
        values = newest[state.id]
        if state.last_seen is None or state.last_seen < values.at:
            _move_state(state, values)
            moved.add(state.id)
    monitoring_judge_batch(states=judged, now=now)
    changed = [
        state
        for state in judged
        if state.id in moved or (state.status, state.flag) != before[state.id]
    ]
    _write(incoming, changed, source=source, received_at=now)
    return result


def _distinct_readings(
    readings: Sequence[tuple[Battery, ReadingValues]], *, skip_conflicts: bool, result: IngestResult
) -> dict[tuple, ReadingValues]:
    """The batch's readings by (battery id, time): a repeat within the batch is counted a
    duplicate, a contradicting one a conflict (``_conflict``)."""
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
    return incoming


_VALUE_COLUMNS = tuple(f.name for f in fields(ReadingValues))
_value_row = attrgetter(*_VALUE_COLUMNS)
_STAGED_COLUMNS = ", ".join(("battery_id", *_VALUE_COLUMNS))
_STATE_FIELDS = ("soc_percent", "power_kw", "voltage_v", "temperature_c", "status")
_STORED_STATE = (*_STATE_FIELDS, "reported_flag", "flag", "last_seen")
_stored_state = attrgetter(*_STORED_STATE)

_STAGING = "batteries_reading_staging"
_STATE_STAGING = "batteries_state_staging"
# Session-local and emptied at commit; emptied first too, for a second batch in one transaction
# (DELETE: TRUNCATE costs milliseconds, and the commit's truncation drops the deleted rows).
_STAGING_PREPARE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (battery_id uuid, at timestamptz, "  # noqa: S608
    "soc_percent numeric, power_kw numeric, voltage_v numeric, temperature_c numeric, "
    "status text, flag text) ON COMMIT DELETE ROWS; "
    f"CREATE TEMP TABLE IF NOT EXISTS {_STATE_STAGING} (id uuid, soc_percent numeric, "
    "power_kw numeric, voltage_v numeric, temperature_c numeric, status text, "
    "reported_flag text, flag text, last_seen timestamptz) ON COMMIT DELETE ROWS; "
    f"DELETE FROM {_STAGING}; DELETE FROM {_STATE_STAGING}"
)
_BATTERIES = Battery._meta.db_table
_READINGS = BatteryReading._meta.db_table
# Two statements, one round trip: the lock is taken (rows locked as they are returned, in id
# order) before the stored readings are read.
_LOCK_AND_FIND_STORED = (
    f"SELECT {', '.join(STATE_COLUMNS)} FROM {_BATTERIES} "  # noqa: S608 - constant names
    f"WHERE id IN (SELECT battery_id FROM {_STAGING}) ORDER BY id FOR NO KEY UPDATE; "
    f"SELECT r.battery_id, {', '.join(f'r.{name}' for name in _VALUE_COLUMNS)} "
    f"FROM {_READINGS} AS r JOIN {_STAGING} AS s ON r.battery_id = s.battery_id AND r.at = s.at"
)
# The readings the lookup found stored are still staged: the unique key skips them, and guards
# nothing else (the batteries are locked and the readings were checked under those locks). In
# key order: two batches sharing readings wait for each other on the unique index in the same
# order, and never deadlock.
_APPEND = (
    f"INSERT INTO {_READINGS} ({_STAGED_COLUMNS}, source, received_at) "  # noqa: S608
    f"SELECT {_STAGED_COLUMNS}, %s, %s FROM {_STAGING} ORDER BY battery_id, at "
    "ON CONFLICT (battery_id, at) DO NOTHING"
)
_UPDATE_STATES = (
    f"UPDATE {_BATTERIES} AS b SET "  # noqa: S608 - constant names
    + ", ".join(f"{name} = v.{name}" for name in _STORED_STATE)
    + f" FROM {_STATE_STAGING} AS v WHERE b.id = v.id"
)


def _lock_and_find_stored(incoming: dict) -> tuple[dict, list[tuple[tuple, ReadingValues]]]:
    """Lock the batteries of ``incoming`` (NO KEY UPDATE, in id order: two batches or a batch
    and a monitoring pass queue instead of deadlocking, and inserts referencing them are not held
    up) and read their state; then the stored readings at exactly the keys of ``incoming``. On
    PostgreSQL ``incoming`` is staged first (``_write`` appends from there)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_STAGING_PREPARE)
            with cursor.cursor.copy(f"COPY {_STAGING} ({_STAGED_COLUMNS}) FROM STDIN") as copy:
                for (battery_id, _), values in incoming.items():
                    copy.write_row((battery_id, *_value_row(values)))
            cursor.cursor.execute(_LOCK_AND_FIND_STORED)
            state_rows = cursor.cursor.fetchall()
            cursor.cursor.nextset()
            stored_rows = cursor.cursor.fetchall()
    else:
        battery_ids = {battery_id for battery_id, _ in incoming}
        state_rows = (
            Battery.objects.select_for_update(no_key=True)
            .filter(pk__in=battery_ids)
            .order_by("pk")
            .values_list(*STATE_COLUMNS)
        )
        stored_rows = [
            row
            for row in BatteryReading.objects.filter(
                battery_id__in=battery_ids, at__in={at for _, at in incoming}
            ).values_list("battery_id", *_VALUE_COLUMNS)
            if (row[0], row[1]) in incoming
        ]
    states = {row[0]: BatteryState(*row) for row in state_rows}
    return states, [((row[0], row[1]), ReadingValues(*row[1:])) for row in stored_rows]


def _write(
    incoming: dict, states: list[BatteryState], *, source: str, received_at: datetime
) -> None:
    """Append the new readings and store the changed batteries' state, status and flag (their
    rows are locked by this transaction). On PostgreSQL in one round trip after the states are
    copied (Django's bulk_update spends seconds building CASE expressions for thousands)."""
    if connection.vendor == "postgresql":
        statements, params = [], []
        if incoming:
            statements.append(_APPEND)
            params += [source, received_at]
        with connection.cursor() as cursor:
            if states:
                copying = f"COPY {_STATE_STAGING} (id, {', '.join(_STORED_STATE)}) FROM STDIN"
                with cursor.cursor.copy(copying) as copy:
                    for state in states:
                        copy.write_row((state.id, *_stored_state(state)))
                statements.append(_UPDATE_STATES)
            if statements:
                cursor.cursor.execute("; ".join(statements), params)
        return
    BatteryReading.objects.bulk_create(
        [
            BatteryReading(
                battery_id=battery_id, source=source, received_at=received_at, **vars(values)
            )
            for (battery_id, _), values in sorted(incoming.items(), key=lambda item: item[0])
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
    Battery.objects.bulk_update(
        [
            Battery(pk=state.id, **{name: getattr(state, name) for name in _STORED_STATE})
            for state in states
        ],
        list(_STORED_STATE),
        batch_size=500,
    )


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
    now = timezone.now()
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
            readings.append((battery, reading_values_parse(item, now=now)))
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


def _move_state(state: BatteryState, values: ReadingValues) -> None:
    """The battery's current state becomes its newest reading."""
    for name in _STATE_FIELDS:
        setattr(state, name, getattr(values, name))
    state.reported_flag = values.flag
    state.last_seen = values.at


def reading_record(
    *, battery: Battery, data: Mapping, source: str, default_at: datetime | None = None
) -> IngestResult:
    """Validate and store one reading (see ``readings_ingest``)."""
    values = reading_values_parse(data, default_at=default_at)
    return readings_ingest(readings=[(battery, values)], source=source)
