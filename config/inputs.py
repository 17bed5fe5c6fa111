"""One validator per kind of value a client gives us, used by every door.

REST (single and bulk), MQTT (meters and batteries), OCPP filters, bill runs and archives all take
JSON, numbers, times and text from devices and people we do not control. Each kind of value is
checked here, once, so a class of bad input is closed wherever it enters:

- JSON: bounded nesting depth and number length (no RecursionError, no megabyte integers), no
  NaN/Infinity, no NUL characters (PostgreSQL cannot store them in text or JSONB);
- decimals: finite and within the digits the column holds (no ``InvalidOperation`` later);
- datetimes: offsets within ±14:00, convertible to UTC, not before ``INPUT_EARLIEST_DATETIME``
  (nor a device's commissioning when known), not further ahead than
  ``READING_MAX_CLOCK_SKEW_SECONDS``;
- text: no NUL characters.

Failures raise ``InputError`` with a ``code`` (for dead letters and counts) and a sentence that
names the rule; each door turns it into its own answer (a 400 naming the field, a dead letter).
These functions are pure apart from reading settings, so they are cheap enough for every message.
"""

import functools
import json
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone

MAX_OFFSET = timedelta(hours=14)
# The longest number literal anyone sends is a register with a dozen digits and a fraction; 64
# characters leaves room for exponents and padding while bounding the work of converting it.
MAX_NUMBER_LENGTH = 64
DEFAULT_MAX_JSON_DEPTH = 32
DEFAULT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class InputError(ValueError):
    """A value from a client breaks a rule. ``code`` is stable (dead-letter codes, counts);
    ``message`` says which rule, in words a client can act on."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# ---- JSON ---------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _max_json_depth() -> int:
    return getattr(settings, "INPUT_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)


def _check_depth(text: str, limit: int) -> None:
    # A document with fewer opening brackets than the limit cannot be deeper: the usual case
    # costs two counts, and only suspicious documents are scanned (strings blanked first, so a
    # bracket inside a string does not count).
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                raise InputError(
                    "too_deep", f"JSON is nested more than {limit} levels deep (the limit)."
                )
        else:
            depth -= 1


def _refuse_constant(name: str):
    raise InputError("not_finite", f"{name} is not a number; JSON numbers must be finite.")


def _int_literal(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise InputError(
            "number_too_long", f"A number has {len(text)} digits; at most {MAX_NUMBER_LENGTH}."
        )
    return int(text)


def _decimal_literal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_LENGTH:
        raise InputError(
            "number_too_long",
            f"A number has {len(text)} characters; at most {MAX_NUMBER_LENGTH}.",
        )
    return Decimal(text)


def _float_literal(text: str) -> float:
    number = float(_decimal_literal(text))
    if number in (float("inf"), float("-inf")):
        raise InputError("not_finite", f"{text} is beyond the range of a number.")
    return number


def _refuse_nul(node: Any) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InputError("nul_character", "Text must not contain NUL (\\u0000).")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_loads(
    data: bytes | str,
    *,
    decimals: bool = True,
    object_pairs_hook=None,
    max_depth: int | None = None,
) -> Any:
    """Parse JSON from a client. Numbers with a fraction or exponent become ``Decimal`` (so a
    register is not rounded through float) unless ``decimals`` is false. Raises InputError with
    code ``not_json``, ``too_deep``, ``number_too_long``, ``not_finite`` or ``nul_character``."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("not_json", f"Not UTF-8 text: {exc}.") from exc
    else:
        text = data
    _check_depth(text, max_depth or _max_json_depth())
    try:
        value = json.loads(
            text,
            parse_float=_decimal_literal if decimals else _float_literal,
            parse_int=_int_literal,
            parse_constant=_refuse_constant,
            object_pairs_hook=object_pairs_hook,
        )
    except InputError:
        raise
    except (ValueError, RecursionError) as exc:
        raise InputError("not_json", f"Not JSON: {exc}.") from exc
    # Raw NUL bytes inside a JSON string are already refused by the parser (control character);
    # only the escape can produce one, so the walk runs only when the escape is there.
    if "\\u0000" in text:
        _refuse_nul(value)
    return value


def json_value_check(value: Any) -> None:
    """A parsed JSON value about to be stored (JSONB), from wherever it was parsed: no NUL in
    any string or key, no NaN/Infinity. Raises InputError ``nul_character`` / ``not_finite``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InputError("nul_character", "Text must not contain NUL (\\u0000).")
        elif isinstance(item, float | Decimal):
            if not item.is_finite() if isinstance(item, Decimal) else not math.isfinite(item):
                raise InputError("not_finite", "JSON numbers must be finite (not NaN or Infinity).")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


# ---- numbers ------------------------------------------------------------------------------


@functools.cache
def _quantizing(max_digits: int, decimal_places: int) -> tuple[Decimal, str, Context]:
    """quantize()'s exponent, rounding and context for a column's digits: made once, not per
    value (a bulk request converts 10,000)."""
    return Decimal(1).scaleb(-decimal_places), ROUND_HALF_EVEN, Context(prec=max_digits + 1)


def to_decimal(value: Any, *, max_digits: int, decimal_places: int) -> Decimal:
    """``value`` (int, Decimal, float or numeric string) as a Decimal rounded to
    ``decimal_places`` that fits ``max_digits`` in all. Raises InputError ``not_a_number``,
    ``not_finite`` or ``out_of_range``."""
    if isinstance(value, bool) or value is None:
        raise InputError("not_a_number", "A number is required.")
    if isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_NUMBER_LENGTH:
            raise InputError(
                "number_too_long", f"A number has at most {MAX_NUMBER_LENGTH} characters."
            )
    elif isinstance(value, float):
        value = repr(value)
    elif not isinstance(value, int | Decimal):
        raise InputError("not_a_number", f"A number is required, not {type(value).__name__}.")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InputError("not_a_number", f"{str(value)[:40]!r} is not a number.") from exc
    if not number.is_finite():
        raise InputError("not_finite", "The number must be finite (not NaN or Infinity).")
    whole_digits = max_digits - decimal_places
    if number and number.adjusted() >= whole_digits:
        raise InputError(
            "out_of_range",
            f"The number is too large: at most {whole_digits} digits before the decimal point.",
        )
    try:
        return number.quantize(*_quantizing(max_digits, decimal_places))
    except InvalidOperation as exc:  # pragma: no cover - the bound above makes this unreachable
        raise InputError("out_of_range", "The number does not fit.") from exc


# ---- datetimes ----------------------------------------------------------------------------


def earliest_datetime() -> datetime:
    earliest = getattr(settings, "INPUT_EARLIEST_DATETIME", DEFAULT_EARLIEST)
    return earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)


def max_clock_skew() -> timedelta:
    return timedelta(seconds=settings.READING_MAX_CLOCK_SKEW_SECONDS)


def datetime_parse(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 text as a datetime (naive if it has no offset). Raises InputError
    ``bad_datetime`` or ``bad_offset``."""
    if not isinstance(text, str) or len(text) > 64 or "\x00" in text:
        raise InputError("bad_datetime", "A datetime is an ISO 8601 text, e.g. 2026-01-31T23:30Z.")
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError("bad_datetime", f"Not an ISO 8601 datetime: {exc}.") from exc
    offset_check(value)
    return value


def offset_check(value: datetime) -> None:
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise InputError("bad_offset", "The UTC offset must be within ±14:00.")


def to_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; InputError ``out_of_range`` where the conversion overflows
    (year 1 with a positive offset, year 9999 with a negative one)."""
    offset_check(value)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InputError("out_of_range", "The datetime is outside the supported range.") from exc


def datetime_plausible(
    value: datetime, *, not_before: datetime | None = None, now: datetime | None = None
) -> datetime:
    """An aware datetime a device or client says something happened at, in UTC, when plausible:
    not before ``INPUT_EARLIEST_DATETIME`` (nor ``not_before``, e.g. a meter's commissioning)
    and not more than ``READING_MAX_CLOCK_SKEW_SECONDS`` after now. Raises InputError
    ``too_early`` or ``in_future`` (and those of ``to_utc``)."""
    if value.tzinfo is None:
        raise InputError("bad_datetime", "The datetime needs a time zone.")
    at = to_utc(value)
    earliest = max(earliest_datetime(), not_before) if not_before else earliest_datetime()
    if at < earliest:
        raise InputError(
            "too_early", f"The datetime is before {earliest.isoformat()}, the earliest accepted."
        )
    latest = (now or timezone.now()) + max_clock_skew()
    if at > latest:
        raise InputError(
            "in_future",
            f"The datetime is more than {int(max_clock_skew().total_seconds())} s in the future.",
        )
    return at


def datetime_bound(value: datetime) -> datetime:
    """A datetime used as a query bound (from/to filters): any instant a database can compare,
    in UTC. Far-past and far-future bounds are fine ("everything before 2100"); offsets beyond
    ±14:00 and instants that overflow are not."""
    if value.tzinfo is None:
        value = timezone.make_aware(value)
    return to_utc(value)


def month_plausible(year: int, month: int) -> None:
    """A billing or archive month: not before the earliest accepted datetime, not after this
    month. Raises InputError ``too_early`` / ``in_future``."""
    earliest = earliest_datetime()
    if (year, month) < (earliest.year, earliest.month):
        raise InputError(
            "too_early", f"The month is before {earliest:%Y-%m}, the earliest accepted."
        )
    today = timezone.localdate()
    if (year, month) > (today.year, today.month):
        raise InputError("in_future", "The month has not begun yet.")


# ---- text ---------------------------------------------------------------------------------


def text_check(value: str) -> str:
    if "\x00" in value:
        raise InputError("nul_character", "Text must not contain NUL (\\u0000).")
    return value
