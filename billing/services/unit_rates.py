"""The price feed: a dynamic tariff's half-hourly unit rates, set one local day at a time.

Every door (the staff API's PUT, the ``import_unit_rates`` command, the admin's "set a day"
form) hands the raw values to ``unit_rates_day_check``, the one validator, and stores them with
``unit_rates_set_day``. A day is whole or absent: its 46, 48 or 50 half-hours (local days,
settings.TIME_ZONE), no gaps, no duplicates, each value within ``HALF_HOUR_RATE_MIN`` and
``HALF_HOUR_RATE_MAX`` per kWh (negative prices happen). Setting a day again replaces its values:
the same rates twice leave the same state (idempotent), and a refused day changes nothing.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from config.exceptions import Conflict, InvalidInput
from config.inputs import InputError, datetime_parse, earliest_datetime, to_decimal, to_utc
from meters.timeutils import HALF_HOUR, day_bounds, half_hours_in_day, localise

from ..models import (
    HALF_HOUR_RATE_MAX,
    HALF_HOUR_RATE_MIN,
    PRICE_DIGITS,
    PRICE_PLACES,
    HalfHourRate,
    RateDirection,
    Tariff,
)

# Prices are published a day ahead; a year ahead is the furthest any feed sends on purpose.
MAX_DAYS_AHEAD = 366
# Enough messages to fix a feed, few enough to read (a day has at most 50 half-hours).
MAX_MESSAGES = 10


@dataclass(frozen=True)
class DayRates:
    """A checked day: its half-hours' UTC starts and values, in order."""

    tariff: Tariff
    day: date
    direction: str
    values: dict[datetime, Decimal]


@dataclass(frozen=True)
class DayResult:
    day: DayRates
    created: int
    changed: int
    unchanged: int


def unit_rate_value_check(value) -> Decimal:
    """One half-hour's value (per kWh, before VAT, in the tariff's currency): a number rounded
    to five places within the sane range. Raises InputError."""
    number = to_decimal(value, max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    if not HALF_HOUR_RATE_MIN <= number <= HALF_HOUR_RATE_MAX:
        raise InputError(
            "out_of_range",
            f"{number} per kWh is outside {HALF_HOUR_RATE_MIN} to {HALF_HOUR_RATE_MAX} (rates are "
            "in the tariff's currency per kWh, e.g. 0.2415 for 24.15p, not pence).",
        )
    return number


def _instant(value, tz) -> datetime:
    """A half-hour's start from a door: an aware datetime, or ISO text; naive ones are local."""
    if isinstance(value, str):
        value = datetime_parse(value)
    if not isinstance(value, datetime):
        raise InputError("bad_datetime", "A datetime is an ISO 8601 text, e.g. 2026-01-31T23:30Z.")
    if value.tzinfo is None:
        try:
            return localise(value, tz)
        except ValueError as exc:
            raise InputError("bad_datetime", f"{value:%Y-%m-%d %H:%M} {exc}.") from exc
    return to_utc(value)


def _day_checks(*, tariff: Tariff, day: date, direction: str) -> None:
    if direction not in RateDirection.values:
        raise InvalidInput({"direction": [f"must be one of {', '.join(RateDirection.values)}."]})
    flag = "import_dynamic" if direction == RateDirection.IMPORT else "export_dynamic"
    if not getattr(tariff, flag):
        raise Conflict(
            f"direction: {tariff.name} prices {direction} without half-hourly rates "
            f"({flag} is off); turn it on before feeding rates.",
            field="direction",
        )
    latest = timezone.localdate() + timedelta(days=MAX_DAYS_AHEAD)
    if day < max(tariff.valid_from, earliest_datetime().date()) or day > latest:
        raise InvalidInput(
            {"day": [f"must lie between {tariff.valid_from} (the tariff's start) and {latest}."]}
        )
    if tariff.valid_to is not None and day > tariff.valid_to:
        raise InvalidInput({"day": [f"{tariff.name} ends on {tariff.valid_to}."]})


def unit_rates_day_check(
    *, tariff: Tariff, day: date, direction: str, rates: Sequence[Mapping]
) -> DayRates:
    """The one validator of a day's rates. ``rates``: mappings with ``valid_from`` (aware, or
    naive local; ISO text or datetime), ``value_exc_vat`` (number or text) and optionally
    ``valid_to`` (must be ``valid_from`` + 30 min), in any order. Raises InvalidInput naming
    each field (``rates[3].value_exc_vat``) and its rule, or Conflict for a tariff that is not
    dynamic in ``direction``."""
    _day_checks(tariff=tariff, day=day, direction=direction)
    tz = timezone.get_default_timezone()
    start, end = day_bounds(day, tz)
    expected = half_hours_in_day(day, tz)
    if not isinstance(rates, Sequence) or isinstance(rates, str | bytes):
        raise InvalidInput({"rates": ["must be a list of half-hours."]})
    if len(rates) != expected:
        raise InvalidInput(
            {"rates": [f"{day} has {expected} half-hours (local time); got {len(rates)}."]}
        )
    errors: dict[str, list[str]] = {}
    values: dict[datetime, Decimal] = {}
    first_index: dict[datetime, int] = {}
    for index, rate in enumerate(rates):
        checked = _rate_check(rate, index, tz, start, end, errors)
        if checked is None:
            continue
        at, value = checked
        if at in first_index:
            errors[f"rates[{index}].valid_from"] = [
                f"{at:%Y-%m-%dT%H:%M}Z is given twice (also rates[{first_index[at]}])."
            ]
            continue
        first_index[at] = index
        values[at] = value
    if not errors:
        missing = [start + k * HALF_HOUR for k in range(expected)]
        missing = [at for at in missing if at not in values]
        if missing:
            shown = ", ".join(f"{at.astimezone(tz):%H:%M}" for at in missing[:MAX_MESSAGES])
            errors["rates"] = [f"a day has no gaps: no rate for {shown} (local)."]
    if errors:
        raise InvalidInput(dict(list(errors.items())[:MAX_MESSAGES]))
    return DayRates(
        tariff=tariff, day=day, direction=direction, values=dict(sorted(values.items()))
    )


def _rate_check(rate, index: int, tz, start: datetime, end: datetime, errors: dict):
    """(UTC start, value) of one entry, or None with its errors noted."""
    prefix = f"rates[{index}]"
    if not isinstance(rate, Mapping):
        errors[prefix] = ["must be an object with valid_from and value_exc_vat."]
        return None
    at = value = None
    for name in ("valid_from", "value_exc_vat"):
        if rate.get(name) is None:
            errors[f"{prefix}.{name}"] = ["is required."]
    try:
        if rate.get("valid_from") is not None:
            at = _instant(rate["valid_from"], tz)
            if not start <= at < end or (at - start) % HALF_HOUR:
                at = None
                local_day = start.astimezone(tz).date()
                errors[f"{prefix}.valid_from"] = [
                    f"must be the start of a half-hour of the local day {local_day}."
                ]
    except InputError as exc:
        errors[f"{prefix}.valid_from"] = [exc.message]
    try:
        valid_to = rate.get("valid_to")
        if at is not None and valid_to is not None and _instant(valid_to, tz) != at + HALF_HOUR:
            errors[f"{prefix}.valid_to"] = ["must be valid_from + 30 minutes."]
    except InputError as exc:
        errors[f"{prefix}.valid_to"] = [exc.message]
    try:
        if rate.get("value_exc_vat") is not None:
            value = unit_rate_value_check(rate["value_exc_vat"])
    except InputError as exc:
        errors[f"{prefix}.value_exc_vat"] = [exc.message]
    if at is None or value is None or any(key.startswith(prefix) for key in errors):
        return None
    return at, value


@transaction.atomic
def unit_rates_set_day(
    *, tariff: Tariff, day: date, direction: str, rates: Sequence[Mapping]
) -> DayResult:
    """Check and store a day's rates, replacing what the day had (idempotent). Bills already
    issued keep their prices (copied onto their lines); drafts pick the new ones up when the
    bill run regenerates them."""
    Tariff.objects.select_for_update().filter(pk=tariff.pk).first()
    checked = unit_rates_day_check(tariff=tariff, day=day, direction=direction, rates=rates)
    return _store(checked)


def _store(checked: DayRates) -> DayResult:
    start, end = day_bounds(checked.day, timezone.get_default_timezone())
    stored = {
        row.valid_from: row
        for row in HalfHourRate.objects.filter(
            tariff=checked.tariff,
            direction=checked.direction,
            valid_from__gte=start,
            valid_from__lt=end,
        )
    }
    new, changed = [], []
    for at, value in checked.values.items():
        row = stored.get(at)
        if row is None:
            new.append(
                HalfHourRate(
                    tariff=checked.tariff,
                    direction=checked.direction,
                    valid_from=at,
                    value_exc_vat=value,
                )
            )
        elif row.value_exc_vat != value:
            row.value_exc_vat = value
            changed.append(row)
    HalfHourRate.objects.bulk_create(new)
    HalfHourRate.objects.bulk_update(changed, ["value_exc_vat"])
    unchanged = len(checked.values) - len(new) - len(changed)
    return DayResult(day=checked, created=len(new), changed=len(changed), unchanged=unchanged)


def unit_rates_by_day(rows: Sequence[Mapping]) -> dict[date, list[Mapping]]:
    """Rows of several days (a file) grouped by the local day their ``valid_from`` falls on,
    each keeping its ``line`` (for messages). Raises InvalidInput naming the line of a
    ``valid_from`` that is missing or not a time."""
    tz = timezone.get_default_timezone()
    days: dict[date, list[Mapping]] = {}
    errors = {}
    for row in rows:
        try:
            if row.get("valid_from") in (None, ""):
                raise InputError("required", "is required.")
            day = _instant(row["valid_from"], tz).astimezone(tz).date()
        except InputError as exc:
            errors[f"line {row['line']}: valid_from"] = [exc.message]
            continue
        days.setdefault(day, []).append(row)
    if errors:
        raise InvalidInput(dict(list(errors.items())[:MAX_MESSAGES]))
    return days


def _by_line(field: str, rates: Sequence[Mapping]) -> str:
    """``rates[3].value_exc_vat`` as ``line 17: value_exc_vat`` when the rows know their lines."""
    if not field.startswith("rates["):
        return field
    index, _, rest = field[len("rates[") :].partition("]")
    line = rates[int(index)].get("line")
    return field if line is None else f"line {line}: {rest.lstrip('.') or 'row'}"


def unit_rates_set_days(
    *, tariff: Tariff, direction: str, days: Mapping[date, Sequence[Mapping]]
) -> list[DayResult]:
    """Several days at once (a CSV file): every day is checked before any is stored, so a file
    with one bad day changes nothing. Raises InvalidInput with each field prefixed by its day
    (``2026-01-15: line 17: value_exc_vat``, or ``rates[3]...`` for rows without lines)."""
    with transaction.atomic():
        Tariff.objects.select_for_update().filter(pk=tariff.pk).first()
        checked, errors = [], {}
        for day, rates in sorted(days.items()):
            try:
                checked.append(
                    unit_rates_day_check(tariff=tariff, day=day, direction=direction, rates=rates)
                )
            except InvalidInput as exc:
                for field, messages in exc.errors.items():
                    errors[f"{day}: {_by_line(field, rates)}"] = messages
        if errors:
            raise InvalidInput(errors)
        return [_store(day) for day in checked]
