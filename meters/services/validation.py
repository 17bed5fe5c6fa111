"""A reading as ingest receives it, and the rules one item must pass: its own fields, and
its registers against the readings around it (stored or in the same batch)."""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.inputs import (
    InputError,
    datetime_plausible,
    earliest_datetime,
    json_value_check,
    max_clock_skew,
    to_decimal,
)
from meters.models import (
    KWH_DIGITS,
    KWH_PLACES,
    Meter,
    MeterKind,
    ReadingQuality,
)
from meters.timeutils import localise

_QUALITIES = frozenset(ReadingQuality.values)
BULK_MAX_ITEMS = 10_000
# A terawatt: beyond any meter, and well inside a float (a Decimal 1e400 is not).
MAX_WATTS = 1e12


@dataclass(frozen=True)
class ReadingIn:
    """One parsed reading handed to ingest. ``at`` may be aware, naive (read in the meter's time
    zone) or an ISO 8601 string; numbers may be Decimal, int, float or str (validated here)."""

    meter_id: str
    at: datetime | str
    import_kwh: Decimal | float | int | str
    export_kwh: Decimal | float | int | str | None = None
    power_w: float | None = None
    power_l1_w: float | None = None
    power_l2_w: float | None = None
    power_l3_w: float | None = None
    quality: str = ReadingQuality.ACTUAL
    register_reset: bool = False
    # None: the same as ``register_reset`` (a client that knows one flag marks a meter exchange).
    export_register_reset: bool | None = None
    raw: dict | None = None


@dataclass(slots=True)
class LockedMeter:
    """What ingest uses of a meter it has row-locked for the batch. A batch locks hundreds, and
    building model instances for them (and looking their zone up afresh on each) was a visible
    part of an MQTT batch (#16)."""

    pk: int
    meter_id: str
    account_id: int | None
    kind: str
    timezone: str
    last_seen: datetime | None
    tz: ZoneInfo


ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
SKIPPED = "skipped"
# Within one call only: an item that will replace the estimate stored for its time
# (corrections.reading_ingest_bulk_replacing_estimates); it ends accepted or rejected.
REPLACING = "replacing"


@dataclass(slots=True)
class ItemResult:
    """What became of one item. ``status``: accepted, duplicate (same value already stored: a
    no-op), rejected (``code`` unknown_meter / conflict / invalid, ``field`` and ``reason`` say
    why), or skipped (an atomic batch in which another item was rejected)."""

    index: int
    meter_id: str
    at: datetime | None
    status: str
    code: str = ""
    field: str = ""
    reason: str = ""
    # A register rule's refusal: the stored (or batch) reading it was checked against, and
    # whether the item went below it ("below") or above a later one ("above"), so a door can
    # word the refusal for its users (meters.services.customer_reads).
    against: "_Point | _Candidate | None" = None
    against_side: str = ""


@dataclass(slots=True)
class _Candidate:
    index: int
    meter: LockedMeter
    at: datetime
    import_kwh: Decimal
    export_kwh: Decimal | None
    item: ReadingIn
    result: ItemResult
    register_reset: bool = False
    export_register_reset: bool = False
    following: "_Point | None" = None


@dataclass(frozen=True)
class _Point:
    """A reading as the register checks and roll-ups need it."""

    at: datetime
    import_kwh: Decimal
    export_kwh: Decimal | None
    register_reset: bool
    export_register_reset: bool


# Each register and the flag that marks its reset (models.Reading).
_RESET_FLAGS = {"import_kwh": "register_reset", "export_kwh": "export_register_reset"}


@dataclass
class _Series:
    before: _Point | None = None
    points: list[_Point] = field(default_factory=list)
    after: _Point | None = None


def _kwh(value, name: str) -> Decimal:
    if isinstance(value, str):
        value = value.strip()
    try:
        number = to_decimal(value, max_digits=KWH_DIGITS, decimal_places=KWH_PLACES)
    except InputError as exc:
        raise ValueError(f"{name}: {exc.message}") from exc
    if number < 0:
        raise ValueError(f"{name}: a register cannot be negative ({number}).")
    return number


def _timestamp(
    value,
    meter: LockedMeter | Meter,
    now: datetime,
    *,
    bounds: tuple[datetime, datetime] | None = None,
) -> datetime:
    """``value`` (a datetime or ISO 8601 text; naive is read in the meter's zone) in UTC, when
    plausible (config.inputs.datetime_plausible: not before INPUT_EARLIEST_DATETIME, offset
    within ±14:00, not beyond ``now`` plus the allowed clock skew). ``bounds``: that earliest
    and latest, when the caller has them (a batch, once for all its items)."""
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip()) if len(value) <= 64 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError(f"at: {value[:64]!r} is not an ISO 8601 timestamp.")
        value = parsed
    if not isinstance(value, datetime):
        raise ValueError("at: must be a timestamp.")
    # Already UTC and plainly within the plausible range (what nearly every device sends): the
    # answer datetime_plausible would give, without its conversions (#16 §3: bulk ingest).
    if value.tzinfo is UTC:
        earliest, latest = bounds or (earliest_datetime(), now + max_clock_skew())
        if earliest <= value <= latest:
            return value
    try:
        if timezone.is_naive(value):
            try:
                value = localise(value, meter.tz)
            except OverflowError as exc:
                raise InputError(
                    "out_of_range", "The datetime is outside the supported range."
                ) from exc
            except ValueError as exc:
                raise ValueError(f"at: {value.isoformat()} {exc} ({meter.timezone}).") from exc
        at = datetime_plausible(value, now=now)
    except InputError as exc:
        raise ValueError(f"at: {exc.message}") from exc
    return at


_POWER_FIELDS = ("power_w", "power_l1_w", "power_l2_w", "power_l3_w")


def _watts_check(value, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{name}: must be a number of watts, not {str(value)[:40]!r}.")
    try:
        finite = math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite or abs(value) > MAX_WATTS:
        raise ValueError(f"{name}: must be a finite number of watts within ±{MAX_WATTS:.0e}.")


def _validate_item(
    index: int,
    item: ReadingIn,
    meter: LockedMeter | Meter,
    latest: datetime,
    *,
    now: datetime | None = None,
    earliest: datetime | None = None,
    times: dict | None = None,
) -> _Candidate:
    """Rules that need only the item and its meter. Raises ValueError("<field>: <rule>").
    ``latest``: the latest acceptable time (now plus the allowed clock skew); ``now`` and
    ``earliest``, when the caller has them (a batch, once for all its items), are ``latest``
    less that skew and config.inputs.earliest_datetime(). ``times``: a batch's accepted
    timestamp texts, so that the time rules run once per text, zone and kind of meter (a fleet's
    batch holds thousands of readings of the same few half-hours)."""
    key = (item.at, meter.tz, meter.kind) if times is not None and type(item.at) is str else None
    at = times.get(key) if key is not None else None
    if at is None:
        at = _timestamp(
            item.at,
            meter,
            latest - max_clock_skew() if now is None else now,
            bounds=None if earliest is None else (earliest, latest),
        )
        if meter.kind == MeterKind.INTERVAL:
            local = at.astimezone(meter.tz)
            if local.minute not in (0, 30) or local.second or local.microsecond:
                raise ValueError(
                    f"at: an interval meter reads on the hour or half-hour (:00 or :30, zero "
                    f"seconds), not {local.isoformat()}."
                )
        if key is not None:
            times[key] = at
    import_kwh = _kwh(item.import_kwh, "import_kwh")
    export_kwh = None if item.export_kwh is None else _kwh(item.export_kwh, "export_kwh")
    powers = (item.power_w, item.power_l1_w, item.power_l2_w, item.power_l3_w)
    if powers != (None, None, None, None):  # most interval reads carry none
        for name, value in zip(_POWER_FIELDS, powers, strict=True):
            _watts_check(value, name)
    if not isinstance(item.register_reset, bool):
        raise ValueError("register_reset: must be true or false.")
    export_reset = item.export_register_reset
    if export_reset is None:
        export_reset = item.register_reset and export_kwh is not None
    elif not isinstance(export_reset, bool):
        raise ValueError("export_register_reset: must be true or false.")
    elif export_reset and export_kwh is None:
        raise ValueError("export_register_reset: the reading has no export_kwh to reset.")
    if item.raw is not None:
        if not isinstance(item.raw, dict):
            raise ValueError("raw: must be a JSON object.")
        try:
            json_value_check(item.raw)
        except InputError as exc:
            raise ValueError(f"raw: {exc.message}") from exc
    if item.quality not in _QUALITIES:
        raise ValueError(f"quality: must be one of {', '.join(ReadingQuality.values)}.")
    return _Candidate(
        index=index,
        meter=meter,
        at=at,
        import_kwh=import_kwh,
        export_kwh=export_kwh,
        item=item,
        result=ItemResult(index=index, meter_id=meter.meter_id, at=at, status=ACCEPTED),
        register_reset=item.register_reset,
        export_register_reset=export_reset,
    )


def _reject(result: ItemResult, code: str, message: str) -> None:
    name, _, reason = message.partition(": ")
    result.status = REJECTED
    result.code = code
    result.field = name if reason else ""
    result.reason = message


def _same_values(candidate: _Candidate, point) -> bool:
    return candidate.import_kwh == point.import_kwh and candidate.export_kwh == point.export_kwh


def _went_down(candidate: _Candidate, before: "_Point | _Candidate", register: str) -> bool:
    value, previous = getattr(candidate, register), getattr(before, register)
    return value is not None and previous is not None and value < previous


def _check_registers(
    candidates: list[_Candidate], series: _Series, *, infer_resets: bool = False
) -> None:
    """A register may not go down: each candidate must be no lower than the reading before it
    (stored or earlier in the batch) and no higher than the stored reading after it, unless the
    candidate (or that later reading) marks a reset of that register (or a meter exchange). With
    ``infer_resets`` a register lower than the reading before is marked as that register's reset
    instead of refused; the other register is not (its interval's energy still counts)."""
    stored = ([series.before] if series.before else []) + series.points
    stored += [series.after] if series.after else []
    events = sorted(
        [(point.at, 0, point) for point in stored] + [(c.at, 1, c) for c in candidates],
        key=lambda event: (event[0], event[1]),
    )
    last: _Point | _Candidate | None = None
    following: _Point | None = None
    for _at, is_candidate, thing in reversed(events):
        if not is_candidate:
            following = thing
        else:
            thing.following = following
    for _at, is_candidate, thing in events:
        if not is_candidate:
            last = thing
            continue
        candidate = thing
        for register, flag in _RESET_FLAGS.items():
            if infer_resets and last is not None and _went_down(candidate, last, register):
                setattr(candidate, flag, True)
        for register, flag in _RESET_FLAGS.items():
            value = getattr(candidate, register)
            if value is None:
                continue
            previous = getattr(last, register) if last else None
            if not getattr(candidate, flag) and previous is not None and value < previous:
                _reject(
                    candidate.result,
                    "invalid",
                    f"{register}: the register went down from {previous} at "
                    f"{last.at.isoformat()} to {value}; mark the reading {flag} for a "
                    f"meter exchange or reset.",
                )
                candidate.result.against, candidate.result.against_side = last, "below"
                break
            later = candidate.following
            later_value = getattr(later, register) if later else None
            if later_value is not None and not getattr(later, flag) and value > later_value:
                _reject(
                    candidate.result,
                    "invalid",
                    f"{register}: {value} is higher than the later reading {later_value} at "
                    f"{later.at.isoformat()}; a register cannot go down.",
                )
                candidate.result.against, candidate.result.against_side = later, "above"
                break
        if candidate.result.status == ACCEPTED:
            last = candidate


def result_as_dict(result: ItemResult) -> dict:
    """An item's result for an answer; code, field and reason only when there is one (a
    10,000-item answer stays small)."""
    answer = {
        "index": result.index,
        "meter_id": result.meter_id,
        "at": result.at.isoformat() if result.at else None,
        "status": result.status,
    }
    if result.code:
        answer["code"] = result.code
    if result.field:
        answer["field"] = result.field
    if result.reason:
        answer["reason"] = result.reason
    return answer
