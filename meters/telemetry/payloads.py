"""Reading Tasmota telemetry: SENSOR and LWT payloads, the mapping to meter quantities, timestamps.

Pure functions (no database), so every payload variant seen in the field is tested here.

A SENSOR payload is a JSON object with ``Time`` and one group per sensor, e.g.
``{"Time":"2024-08-07T08:53:42","MT681":{"Total_in":186.7106,"Power_cur":79.9}}``. The meter's
group and key names come from each device's script, so the default mapping knows the variants
seen in the field (case-insensitive), and a device may override it with ``JSON path -> quantity,
scale``. Decisions on odd payloads:

- duplicate keys in one object: the first number wins (SML scripts list the total register
  before the per-tariff ones that reuse its name);
- empty keys, empty strings and non-numbers are ignored; numbers may be quoted ("186.7");
- the meter group is the first group that holds an import register; other groups (``ESP32``,
  ``Gas``) are ignored unless an override points into them;
- a reading needs an import register; power alone is not stored;
- the payload is parsed by ``config.inputs.json_loads`` (bounded depth and number length, no
  NaN/Infinity, no NUL), and registers must fit the readings' column (``to_decimal``): a
  message that breaks those limits is refused with the rule's code, never half-read.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import msgspec
from django.core.exceptions import ValidationError

from config.inputs import (
    MAX_NUMBER_LENGTH,
    InputError,
    _max_json_depth,
    json_loads,
    to_decimal,
)

QUANTITIES = (
    "import_kwh",
    "export_kwh",
    "power_w",
    "power_l1_w",
    "power_l2_w",
    "power_l3_w",
    "meter_number",
)
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "import_kwh": ("Total_in", "E_in"),
    "export_kwh": ("Total_out", "E_out"),
    "power_w": ("Power_cur", "Power_curr", "Power"),
    "power_l1_w": ("Power_p1", "L1"),
    "power_l2_w": ("Power_p2", "L2"),
    "power_l3_w": ("Power_p3", "L3"),
    "meter_number": ("Meter_id", "Meter_number"),
}
REGISTERS = ("import_kwh", "export_kwh")
# The readings' register column (meters.models.KWH_DIGITS / KWH_PLACES): repeated here because
# payloads is pure and imported by models; a test pins them equal.
REGISTER_DIGITS = 14
REGISTER_PLACES = 4
# Watts beyond a gigawatt are a broken reading head, not a home; they would also overflow float.
MAX_ABS_WATTS = Decimal(10) ** 9
# Device.topic's length: a longer device name cannot be recorded, so it is refused by its code.
DEVICE_MAX_LENGTH = 128
TIME_FROM_PAYLOAD = "payload"
TIME_FROM_RECEIPT = "received"


class PayloadError(ValueError):
    """The message cannot be used; ``code`` names the kind of problem for counts and dead
    letters, the text says what exactly."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def lwt_parse(payload: bytes) -> bool:
    """Tasmota's LWT: ``Online`` or ``Offline``."""
    text = payload.decode("utf-8", errors="replace").strip().lower()
    if text == "online":
        return True
    if text == "offline":
        return False
    raise PayloadError("bad_lwt", f"LWT payload must be Online or Offline, not {text[:40]!r}.")


def _first_wins(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key == "":
            continue
        if key not in result or (_number(result[key]) is None and _number(value) is not None):
            result[key] = value
    return result


def _decimal_literal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_LENGTH:
        raise ValueError("number too long")  # the strict parser names the rule
    return Decimal(text)


_FAST_DECODER = msgspec.json.Decoder(float_hook=_decimal_literal)
# A key is a string followed by a colon: every key of the document matches once, and text inside
# a string can only add matches (an escaped quote before a colon), never hide a key.
_KEY_TOKEN = re.compile(rb'"[ \t\n\r]*:')
# Integers the strict parser would refuse as too long (more than MAX_NUMBER_LENGTH characters)
# are left to it.
_LONGEST_INT = 10 ** (MAX_NUMBER_LENGTH - 1)


def _plain_keys(node: dict, budget: int) -> int:
    """How many keys the parsed document holds, or -1 when it holds what only the strict
    parser's rules decide: an empty key, an integer too long. ``budget`` bounds the walk."""
    count = 0
    stack = [node]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if "" in item:
                return -1
            count += len(item)
            if count > budget:
                return -1
            children = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append(child)
            elif kind is int and not -_LONGEST_INT < child < _LONGEST_INT:
                return -1
    return count


def _fast_parse(payload: bytes) -> dict | None:
    """The payload parsed in C (msgspec, numbers with a fraction as Decimal) when that gives
    exactly what ``config.inputs.json_loads`` with ``_first_wins`` gives; None when only the
    strict parser can say (not JSON, NaN, a NUL escape, deep nesting, long numbers, empty or
    duplicate keys: a duplicate makes fewer keys than key tokens)."""
    if b"\\u0000" in payload or payload.count(b"{") + payload.count(b"[") > _max_json_depth():
        # A NUL escape, or enough brackets to nest too deep (the strict parser's own shortcut).
        return None
    try:
        data = _FAST_DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    tokens = len(_KEY_TOKEN.findall(payload))
    return data if _plain_keys(data, tokens) == tokens else None


def json_parse(payload: bytes) -> dict:
    """The SENSOR payload as a dict, numbers as Decimal (no float rounding of registers). Raises
    PayloadError with the code of the input rule it breaks (``not_json``, ``too_deep``,
    ``number_too_long``, ``not_finite``, ``nul_character``). The common payload is parsed in C
    (``_fast_parse``); anything it cannot vouch for goes through the strict parser."""
    if isinstance(payload, bytes | bytearray):
        data = _fast_parse(payload)
        if data is not None:
            return data
    try:
        data = json_loads(payload, object_pairs_hook=_first_wins)
    except InputError as exc:
        what = "is not JSON" if exc.code == "not_json" else "is refused"
        raise PayloadError(exc.code, f"Payload {what}: {exc.message}") from exc
    if not isinstance(data, dict):
        raise PayloadError("not_json", "Payload is JSON but not an object.")
    return data


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if type(value) is Decimal:  # the parsers' numbers with a fraction: no copy needed
        number = value
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str) and value.strip() and len(value) <= MAX_NUMBER_LENGTH:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


# Each default key variant by its case-folded name: a group's keys are matched against all of
# them in one pass.
_VARIANTS_BY_FOLD: dict[str, tuple[str, ...]] = {}
for _keys in DEFAULT_KEYS.values():
    for _key in _keys:
        _VARIANTS_BY_FOLD[_key.casefold()] = (*_VARIANTS_BY_FOLD.get(_key.casefold(), ()), _key)


def _variants_in(group: dict) -> dict[str, object]:
    """The values of the default key variants a sensor group holds, by variant: the exactly
    named key first, else the first key that folds to it (case-insensitive), in one pass over
    the group."""
    folded: dict[str, object] = {}
    exact: dict[str, object] = {}
    for name, value in group.items():
        variants = _VARIANTS_BY_FOLD.get(name.casefold()) if isinstance(name, str) else None
        if not variants:
            continue
        for key in variants:
            if name == key:
                exact.setdefault(key, value)
            folded.setdefault(key, value)
    folded.update(exact)
    return folded


def _path(data: dict, path: str):
    node = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


@dataclass(frozen=True)
class Mapped:
    import_kwh: Decimal | None = None
    export_kwh: Decimal | None = None
    power_w: float | None = None
    power_l1_w: float | None = None
    power_l2_w: float | None = None
    power_l3_w: float | None = None
    meter_number: str = ""
    time: str | None = None

    @property
    def is_boot_zero(self) -> bool:
        """All registers 0: a device that has just booted and not yet read its meter."""
        return self.import_kwh == 0 and (self.export_kwh is None or self.export_kwh == 0)


def _text(value) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def overrides_validate(overrides) -> None:
    """Raise ValidationError unless ``overrides`` is ``{"path.to.key": {"quantity": q,
    "scale": number}}`` with known quantities."""
    if not isinstance(overrides, dict):
        raise ValidationError("Mapping overrides must be a JSON object.")
    for path, rule in overrides.items():
        if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
            raise ValidationError(f"{path!r}: a path is dot-separated keys, e.g. SML.Total_in.")
        if not isinstance(rule, dict) or rule.get("quantity") not in QUANTITIES:
            raise ValidationError(
                f"{path}: needs a quantity, one of {', '.join(QUANTITIES)}; "
                f'e.g. {{"quantity": "import_kwh", "scale": 0.001}}.'
            )
        scale = rule.get("scale", 1)
        if _number(scale) is None or isinstance(scale, str) or _number(scale) == 0:
            raise ValidationError(f"{path}: scale must be a non-zero number.")
        if set(rule) - {"quantity", "scale"}:
            raise ValidationError(f"{path}: only quantity and scale are allowed.")


_NOTHING: frozenset[str] = frozenset()


def sensor_map(data: dict, overrides: dict | None = None) -> Mapped:
    """Pick the meter's quantities out of a SENSOR payload: per-device overrides first, then the
    default key variants in the meter group."""
    if overrides:
        values = _overridden_values(data, overrides)
        values |= _default_values(data, skip={rule["quantity"] for rule in overrides.values()})
    else:
        values = _default_values(data, skip=_NOTHING)

    def watts(name: str) -> float | None:
        value = values.get(name)
        return None if value is None else float(value)

    time = data.get("Time")
    return Mapped(
        import_kwh=values.get("import_kwh"),
        export_kwh=values.get("export_kwh"),
        power_w=watts("power_w"),
        power_l1_w=watts("power_l1_w"),
        power_l2_w=watts("power_l2_w"),
        power_l3_w=watts("power_l3_w"),
        meter_number=values.get("meter_number") or "",
        time=time.replace("\x00", "") if isinstance(time, str) else None,
    )


def _overridden_values(data: dict, overrides: dict) -> dict[str, object]:
    """The quantities a device's overrides place (a path and a scale each)."""
    values: dict[str, object] = {}
    for path, rule in overrides.items():
        quantity = rule["quantity"]
        raw = _path(data, path)
        if quantity == "meter_number":
            values[quantity] = _text(raw)
            continue
        number = _number(raw)
        try:
            values[quantity] = (
                None if number is None else number * Decimal(str(rule.get("scale", 1)))
            )
        except ArithmeticError as exc:  # decimal.Overflow: 1e999999 scaled
            raise PayloadError("out_of_range", f"{path}: the scaled value overflows.") from exc
    return values


def _first_number(group: dict, keys: tuple[str, ...]) -> Decimal | None:
    for key in keys:
        if key in group and (number := _number(group[key])) is not None:
            return number
    return None


def _first_text(groups: list[dict], keys: tuple[str, ...]) -> str:
    for group in groups:
        for key in keys:
            if key in group and (text := _text(group[key])):
                return text
    return ""


def _default_values(data: dict, *, skip: set[str] | frozenset[str]) -> dict[str, object]:
    """The quantities found under the default key variants: registers and powers in the meter
    group (the first group with an import register), the meter number in any group. (Plain
    loops: this runs for every message.)"""
    groups = [_variants_in(value) for value in data.values() if isinstance(value, dict)]
    meter_group = None
    for group in groups:
        if _first_number(group, DEFAULT_KEYS["import_kwh"]) is not None:
            meter_group = group
            break
    values: dict[str, object] = {}
    for quantity, keys in DEFAULT_KEYS.items():
        if quantity in skip:
            continue
        if quantity == "meter_number":
            searched = groups if meter_group is None else [meter_group, *groups]
            values[quantity] = _first_text(searched, keys)
        elif meter_group is not None:
            values[quantity] = _first_number(meter_group, keys)
    return values


def sensor_require_register(mapped: Mapped) -> None:
    """Raise PayloadError unless the reading has an import register, its registers are not
    negative and fit the readings' column, and its powers are plausible."""
    if mapped.import_kwh is None:
        raise PayloadError(
            "no_register",
            "No import register in the payload (looked for "
            + "/".join(DEFAULT_KEYS["import_kwh"])
            + " in any group, and the device's overrides).",
        )
    for name in REGISTERS:
        value = getattr(mapped, name)
        if value is not None and value < 0:
            raise PayloadError("negative_register", f"{name}: a register cannot be negative.")
        if value is not None:
            try:
                to_decimal(value, max_digits=REGISTER_DIGITS, decimal_places=REGISTER_PLACES)
            except InputError as exc:
                raise PayloadError(exc.code, f"{name}: {exc.message}") from exc
    for name in ("power_w", "power_l1_w", "power_l2_w", "power_l3_w"):
        value = getattr(mapped, name)
        if value is not None and abs(value) > MAX_ABS_WATTS:
            raise PayloadError("out_of_range", f"{name}: more than {MAX_ABS_WATTS:,} W.")


def reading_time(
    time: str | None,
    *,
    tz: ZoneInfo,
    received_at: datetime,
    max_ahead: timedelta,
    max_behind: timedelta,
) -> tuple[datetime, str]:
    """The payload's ``Time`` (local to the device unless it has an offset) when plausible: not
    more than ``max_ahead`` after the receive time nor ``max_behind`` before it. Otherwise the
    receive time. Returns the instant and which of the two it is."""
    if time and len(time) <= 64:
        try:
            parsed = datetime.fromisoformat(time.strip())
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=tz)
            if received_at - max_behind <= parsed <= received_at + max_ahead:
                return parsed.astimezone(UTC), TIME_FROM_PAYLOAD
        except (ValueError, OverflowError):
            # Not a datetime, or one at the edge of the calendar that no offset can move.
            pass
    return received_at, TIME_FROM_RECEIPT
