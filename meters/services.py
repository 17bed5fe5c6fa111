"""Every write to meters, readings, roll-ups, reception and archives.

Ingest has one implementation, ``reading_ingest_bulk``; ``reading_record`` is the same rules for
one reading. The REST API, the MQTT ingest process, the restore and import commands all call
these, so a rule holds whichever door the data came in by.
"""

import json
import logging
import math
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import live
from accounts.models import CustomerAccount, User
from accounts.postcodes import normalise_postcode, outward_code
from config.database import array_cursor
from config.exceptions import ApplicationError, Conflict, NotFound, ServiceUnavailable
from config.inputs import (
    InputError,
    datetime_plausible,
    json_value_check,
    max_clock_skew,
    to_decimal,
)

from . import selectors
from .models import (
    KWH_DIGITS,
    KWH_PLACES,
    Archive,
    ArchiveKind,
    DailyUsage,
    Meter,
    MeterKey,
    MeterKind,
    Reading,
    ReadingQuality,
    ReadingSource,
    Reception,
    ReceptionChange,
)
from .timeutils import HALF_HOUR, JUST_BEFORE, day_bounds, half_hours_in_day, interval_day, localise

log = logging.getLogger(__name__)

_QUALITIES = frozenset(ReadingQuality.values)
BULK_MAX_ITEMS = 10_000
# A terawatt: beyond any meter, and well inside a float (a Decimal 1e400 is not).
MAX_WATTS = 1e12


# --- Reception --------------------------------------------------------------------------------


def reception_ensure_open() -> None:
    """Raise ServiceUnavailable (503 + Retry-After) while reception is paused or in maintenance.

    Every write door calls this before accepting data. It reads the database row each time (one
    primary-key lookup), so a pause is seen by every process as soon as it is committed.
    """
    state = Reception.objects.filter(pk=Reception.SINGLETON_PK).first()
    if state is None or state.is_open:
        return
    what = "maintenance" if state.maintenance else "paused"
    reason = f": {state.reason}" if state.reason else ""
    raise ServiceUnavailable(
        f"Reading reception is {what}{reason}. Retry later.",
        retry_after=settings.RECEPTION_RETRY_AFTER_SECONDS,
    )


@transaction.atomic
def reception_set(
    *,
    user: User | None,
    paused: bool | None = None,
    maintenance: bool | None = None,
    reason: str = "",
) -> Reception:
    """Pause/resume reception and switch maintenance mode; logs who changed what, and when."""
    state, _ = Reception.objects.select_for_update().get_or_create(pk=Reception.SINGLETON_PK)
    if paused is not None:
        state.paused = paused
    if maintenance is not None:
        state.maintenance = maintenance
    state.reason = reason if not state.is_open else ""
    state.changed_by = user
    state.changed_at = timezone.now()
    state.save()
    ReceptionChange.objects.create(
        paused=state.paused,
        maintenance=state.maintenance,
        reason=state.reason,
        changed_by=user,
        changed_at=state.changed_at,
    )
    log.warning(
        "reception %s by %s (paused=%s maintenance=%s)",
        state,
        user,
        state.paused,
        state.maintenance,
    )
    return state


# --- Meters -----------------------------------------------------------------------------------


@transaction.atomic
def meter_create(
    *,
    meter_id: str,
    account: CustomerAccount,
    kind: str = MeterKind.INTERVAL,
    address: str | None = None,
    postcode: str | None = None,
    timezone_name: str | None = None,
) -> Meter:
    """Register a meter on an account; premises, region and dwelling type default to the
    account's."""
    meter_id = meter_id.strip()
    if not meter_id:
        raise ApplicationError("A meter id is required.", field="meter_id")
    if Meter.objects.filter(meter_id=meter_id).exists():
        raise Conflict(f"Meter {meter_id} is already registered.", field="meter_id")
    postcode = normalise_postcode(postcode) if postcode else account.postcode
    meter = Meter(
        meter_id=meter_id,
        account=account,
        kind=kind,
        address=address or account.address,
        postcode=postcode,
        area=outward_code(postcode),
        region=account.region,
        dwelling_type=account.dwelling_type,
        timezone=timezone_name or settings.TIME_ZONE,
    )
    meter.full_clean()
    meter.save()
    return meter


@dataclass(frozen=True)
class IssuedMeterKey:
    meter_key: MeterKey
    key: str


@transaction.atomic
def meter_key_create(*, meter: Meter, name: str) -> IssuedMeterKey:
    """A new key for the device that reads ``meter``; the key itself is returned only here."""
    name = name.strip()
    if not name:
        raise ApplicationError(
            "Give the key a name, such as the device that uses it.", field="name"
        )
    key = MeterKey.KEY_PREFIX + secrets.token_urlsafe(30)
    meter_key = MeterKey.objects.create(
        meter=meter, name=name, prefix=key[:11], digest=MeterKey.digest_of(key)
    )
    return IssuedMeterKey(meter_key=meter_key, key=key)


@transaction.atomic
def meter_key_revoke(*, meter_key: MeterKey) -> MeterKey:
    if meter_key.revoked_at is None:
        meter_key.revoked_at = timezone.now()
        meter_key.save(update_fields=["revoked_at"])
    return meter_key


# --- Readings ---------------------------------------------------------------------------------


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


ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
SKIPPED = "skipped"


@dataclass
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


@dataclass
class _Candidate:
    index: int
    meter: Meter
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


def _timestamp(value, meter: Meter, latest: datetime) -> datetime:
    """``value`` (a datetime or ISO 8601 text; naive is read in the meter's zone) in UTC, when
    plausible (config.inputs.datetime_plausible: not before INPUT_EARLIEST_DATETIME, offset
    within ±14:00, not beyond ``latest``)."""
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
        at = datetime_plausible(value, now=latest - max_clock_skew())
    except InputError as exc:
        raise ValueError(f"at: {exc.message}") from exc
    return at


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


def _validate_item(index: int, item: ReadingIn, meter: Meter, latest: datetime) -> _Candidate:
    """Rules that need only the item and its meter. Raises ValueError("<field>: <rule>").
    ``latest``: the latest acceptable time (now plus the allowed clock skew)."""
    at = _timestamp(item.at, meter, latest)
    if meter.kind == MeterKind.INTERVAL:
        local = at.astimezone(meter.tz)
        if local.minute not in (0, 30) or local.second or local.microsecond:
            raise ValueError(
                f"at: an interval meter reads on the hour or half-hour (:00 or :30, zero "
                f"seconds), not {local.isoformat()}."
            )
    import_kwh = _kwh(item.import_kwh, "import_kwh")
    export_kwh = None if item.export_kwh is None else _kwh(item.export_kwh, "export_kwh")
    for name in ("power_w", "power_l1_w", "power_l2_w", "power_l3_w"):
        _watts_check(getattr(item, name), name)
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


def _point_of(row: tuple) -> _Point:
    return _Point(
        at=row[0],
        import_kwh=row[1],
        export_kwh=row[2],
        register_reset=row[3],
        export_register_reset=row[4],
    )


_POINT_FIELDS = ("at", "import_kwh", "export_kwh", "register_reset", "export_register_reset")


_SERIES_SQL = """
WITH w(meter_id, start_at, end_at) AS (
    SELECT * FROM unnest(%(meters)b::bigint[], %(starts)b::timestamptz[], %(ends)b::timestamptz[])
)
SELECT 1 AS part, w.meter_id, p.at, p.import_kwh, p.export_kwh,
       p.register_reset, p.export_register_reset FROM w
  CROSS JOIN LATERAL (SELECT at, import_kwh, export_kwh, register_reset, export_register_reset
                      FROM {table} r
                      WHERE r.meter_id = w.meter_id AND r.at > w.start_at AND r.at <= w.end_at
                      OFFSET 0) p
UNION ALL
SELECT 0, w.meter_id, b.at, b.import_kwh, b.export_kwh,
       b.register_reset, b.export_register_reset FROM w
  CROSS JOIN LATERAL (SELECT at, import_kwh, export_kwh, register_reset, export_register_reset
                      FROM {table} r
                      WHERE r.meter_id = w.meter_id AND r.at <= w.start_at
                      ORDER BY r.at DESC LIMIT 1) b
UNION ALL
SELECT 2, w.meter_id, a.at, a.import_kwh, a.export_kwh,
       a.register_reset, a.export_register_reset FROM w
  CROSS JOIN LATERAL (SELECT at, import_kwh, export_kwh, register_reset, export_register_reset
                      FROM {table} r
                      WHERE r.meter_id = w.meter_id AND r.at > w.end_at
                      ORDER BY r.at LIMIT 1) a
ORDER BY 2, 3
"""


def _stored_series(windows: dict[int, tuple[datetime, datetime]]) -> dict[int, _Series]:
    """Stored readings of each meter in (start, end], with the nearest reading at or before start
    and the nearest after end: index range scans on (meter, at) whatever the table's size. (The
    ``OFFSET 0`` keeps each meter's range a scan of its own: joined to the window list instead,
    the planner may read the whole table when its statistics are stale, as after a bulk load.)"""
    if settings.DATABASE_IS_POSTGRES:
        return _stored_series_postgres(windows)
    return _stored_series_portable(windows)


def _stored_series_postgres(windows: dict[int, tuple[datetime, datetime]]) -> dict[int, _Series]:
    series = {meter_pk: _Series() for meter_pk in windows}
    pks = list(windows)
    with array_cursor() as cursor:
        cursor.execute(
            _SERIES_SQL.format(table=Reading._meta.db_table),
            {
                "meters": pks,
                "starts": [windows[pk][0] for pk in pks],
                "ends": [windows[pk][1] for pk in pks],
            },
        )
        for part, meter_pk, *point in cursor.fetchall():
            if part == 1:
                series[meter_pk].points.append(_point_of(point))
            elif part == 0:
                series[meter_pk].before = _point_of(point)
            else:
                series[meter_pk].after = _point_of(point)
    return series


def _stored_series_portable(windows: dict[int, tuple[datetime, datetime]]) -> dict[int, _Series]:
    """The same as the PostgreSQL query through the ORM, two small queries per meter (SQLite,
    the embedded demo)."""
    series = {meter_pk: _Series() for meter_pk in windows}
    pks = list(windows)
    for offset in range(0, len(pks), 200):
        chunk = pks[offset : offset + 200]
        in_window = Q()
        for pk in chunk:
            start, end = windows[pk]
            in_window |= Q(meter_id=pk, at__gt=start, at__lte=end)
        rows = Reading.objects.filter(in_window).order_by("meter_id", "at")
        for meter_pk, *point in rows.values_list("meter_id", *_POINT_FIELDS):
            series[meter_pk].points.append(_point_of(point))
    for pk, (start, end) in windows.items():
        readings = Reading.objects.filter(meter_id=pk).values_list(*_POINT_FIELDS)
        before = readings.filter(at__lte=start).order_by("-at").first()
        after = readings.filter(at__gt=end).order_by("at").first()
        series[pk].before = _point_of(before) if before else None
        series[pk].after = _point_of(after) if after else None
    return series


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
                break
        if candidate.result.status == ACCEPTED:
            last = candidate


def _watts(value) -> float | None:
    return None if value is None else float(value)


def _write_readings(candidates: list[_Candidate], source: str) -> None:
    columns = (
        "meter_id, at, import_kwh, export_kwh, power_w, power_l1_w, power_l2_w, power_l3_w, "
        "source, quality, register_reset, export_register_reset, raw"
    )
    rows = [
        (
            c.meter.pk,
            c.at,
            c.import_kwh,
            c.export_kwh,
            _watts(c.item.power_w),
            _watts(c.item.power_l1_w),
            _watts(c.item.power_l2_w),
            _watts(c.item.power_l3_w),
            source,
            c.item.quality,
            c.register_reset,
            c.export_register_reset,
            None if c.item.raw is None else json.dumps(c.item.raw),
        )
        for c in candidates
    ]
    if settings.DATABASE_IS_POSTGRES:
        _copy_and_merge(columns, rows)
    else:
        Reading.objects.bulk_create(
            [
                Reading(
                    meter_id=row[0],
                    at=row[1],
                    import_kwh=row[2],
                    export_kwh=row[3],
                    power_w=row[4],
                    power_l1_w=row[5],
                    power_l2_w=row[6],
                    power_l3_w=row[7],
                    source=row[8],
                    quality=row[9],
                    register_reset=row[10],
                    export_register_reset=row[11],
                    raw=None if row[12] is None else json.loads(row[12]),
                )
                for row in rows
            ],
            batch_size=500,
            ignore_conflicts=True,
        )


_STAGING = "meters_reading_staging"


def _copy_and_merge(columns: str, rows: list[tuple]) -> None:
    """COPY into a session-local staging table, then one INSERT … SELECT into the readings.
    Rows were checked under the meters' row locks; ON CONFLICT only guards the unique key."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ("
            "meter_id bigint, at timestamptz, import_kwh numeric, export_kwh numeric, "
            "power_w double precision, power_l1_w double precision, "
            "power_l2_w double precision, power_l3_w double precision, source varchar(8), "
            "quality varchar(9), register_reset boolean, export_register_reset boolean, raw jsonb) "
            "ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {_STAGING}")
        with cursor.cursor.copy(f"COPY {_STAGING} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        merge = (
            f"INSERT INTO {Reading._meta.db_table} ({columns}) "  # noqa: S608 - constant names
            f"SELECT {columns} FROM {_STAGING} ON CONFLICT (meter_id, at) DO NOTHING"
        )
        cursor.execute(merge)
        cursor.execute(f"TRUNCATE {_STAGING}")


@dataclass
class _DayTotals:
    """One meter-day's roll-up being built interval by interval: from nothing (a recompute) or
    from its stored row (readings appended after the last stored one)."""

    day: date
    import_kwh: Decimal = Decimal(0)
    export_kwh: Decimal | None = None
    readings: int = 0
    covered_from: datetime | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    has_gap: bool = False

    def add(self, before: _Point, point: _Point) -> None:
        """The interval (before, point], which ends in this day, after every interval so far."""
        self.readings += 1
        if self.first_at is None:
            self.first_at, self.covered_from = point.at, before.at
        self.last_at = point.at
        # A reset register's energy of the interval is unknown: it counts none, and the day is
        # not whole (has_gap). The other register's energy of the interval counts.
        if point.register_reset or point.export_register_reset:
            self.has_gap = True
        if not point.register_reset:
            self.import_kwh += point.import_kwh - before.import_kwh
        if point.export_kwh is not None and before.export_kwh is not None:
            exported = Decimal(0)
            if not point.export_register_reset:
                exported = point.export_kwh - before.export_kwh
            self.export_kwh = (self.export_kwh or Decimal(0)) + exported
        if point.at - before.at > HALF_HOUR:
            self.has_gap = True

    def as_row(self, meter: Meter) -> "_RollupRow":
        start, end = day_bounds(self.day, meter.tz)
        complete = not self.has_gap and self.covered_from <= start and self.last_at >= end
        return _RollupRow(
            meter_id=meter.pk,
            day=self.day,
            import_kwh=self.import_kwh,
            export_kwh=self.export_kwh,
            readings=self.readings,
            intervals_expected=half_hours_in_day(self.day, meter.tz),
            first_at=self.first_at,
            last_at=self.last_at,
            covered_from=self.covered_from,
            has_gap=self.has_gap,
            is_partial=not complete,
        )


class _RollupRow(NamedTuple):
    """A DailyUsage row to store, field for field."""

    meter_id: int
    day: date
    import_kwh: Decimal
    export_kwh: Decimal | None
    readings: int
    intervals_expected: int
    first_at: datetime
    last_at: datetime
    covered_from: datetime
    has_gap: bool
    is_partial: bool


# A stored DailyUsage row as _DayTotals(*values), in the dataclass's order.
_TOTALS_FIELDS = [
    "day",
    "import_kwh",
    "export_kwh",
    "readings",
    "covered_from",
    "first_at",
    "last_at",
    "has_gap",
]


def _rollup(meter: Meter, days: set[date], series: _Series) -> tuple[list[_RollupRow], set[date]]:
    """The DailyUsage rows of ``days`` computed from ``series`` (which covers those days), and
    the days that no longer have any interval."""
    totals: dict[date, _DayTotals] = {}
    previous = series.before
    for point in sorted(series.points, key=lambda point: point.at):
        day = interval_day(point.at, meter.tz)
        if day in days and previous is not None:
            totals.setdefault(day, _DayTotals(day=day)).add(previous, point)
        previous = point
    return [total.as_row(meter) for total in totals.values()], days - set(totals)


_ROLLUP_UPSERT = """
INSERT INTO {table} (meter_id, day, import_kwh, export_kwh, readings, intervals_expected,
                     first_at, last_at, covered_from, has_gap, is_partial, updated_at)
SELECT *, now() FROM unnest(%b::bigint[], %b::date[], %b::numeric[], %b::numeric[], %b::int[],
                            %b::smallint[], %b::timestamptz[], %b::timestamptz[],
                            %b::timestamptz[], %b::boolean[], %b::boolean[])
ON CONFLICT (meter_id, day) DO UPDATE SET
    import_kwh = excluded.import_kwh, export_kwh = excluded.export_kwh,
    readings = excluded.readings, intervals_expected = excluded.intervals_expected,
    first_at = excluded.first_at, last_at = excluded.last_at,
    covered_from = excluded.covered_from, has_gap = excluded.has_gap,
    is_partial = excluded.is_partial, updated_at = excluded.updated_at
"""


def _rollups_save(rows: list[_RollupRow], emptied: dict[int, set[date]]) -> None:
    for meter_pk, days in emptied.items():
        if days:
            DailyUsage.objects.filter(meter_id=meter_pk, day__in=days).delete()
    if not rows:
        return
    if settings.DATABASE_IS_POSTGRES:
        # One statement from arrays: the ORM's bulk upsert spends longer building its SQL than
        # PostgreSQL spends running it, on every ingest batch.
        with array_cursor() as cursor:
            cursor.execute(
                _ROLLUP_UPSERT.format(table=DailyUsage._meta.db_table),
                [list(column) for column in zip(*rows, strict=True)],
            )
        return
    DailyUsage.objects.bulk_create(
        [DailyUsage(**row._asdict()) for row in rows],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["meter", "day"],
        update_fields=[
            "import_kwh",
            "export_kwh",
            "readings",
            "intervals_expected",
            "first_at",
            "last_at",
            "covered_from",
            "has_gap",
            "is_partial",
            "updated_at",
        ],
    )


def daily_usage_refresh(*, meter: Meter, days: set[date]) -> None:
    """Recompute a meter's roll-ups for ``days`` from its stored readings."""
    if not days:
        return
    start, _ = day_bounds(min(days), meter.tz)
    _, end = day_bounds(max(days), meter.tz)
    rows, emptied = _rollup(meter, set(days), _stored_series({meter.pk: (start, end)})[meter.pk])
    _rollups_save(rows, {meter.pk: emptied})


def _refuse_pruned_days(candidates: list[_Candidate]) -> None:
    """Refuse readings of live meters for a day past RAW_RETENTION_DAYS that was archived and
    whose raw readings are gone (pruned): stored alone, a reading would replace the day's
    roll-up with its own, and the next prune would delete it unarchived (the archive already
    counts more rows). Restoring the day first brings its readings back, and then it is taken."""
    tz = timezone.get_default_timezone()  # pruning's calendar (meters.archives.local_zone)
    cutoff = timezone.localdate(timezone=tz) - timedelta(days=settings.RAW_RETENTION_DAYS)
    old = [
        (candidate, candidate.at.astimezone(tz).date())
        for candidate in candidates
        if candidate.meter.kind == MeterKind.LIVE and candidate.at.astimezone(tz).date() < cutoff
    ]
    if not old:
        return
    days = {day for _, day in old}
    archived = set(
        Archive.objects.filter(
            Q(kind=ArchiveKind.DAILY, period_start__in=days)
            | Q(kind=ArchiveKind.MONTHLY, period_start__in={day.replace(day=1) for day in days})
        ).values_list("kind", "period_start")
    )
    still_stored: dict[tuple[int, date], bool] = {}
    for candidate, day in old:
        if not {(ArchiveKind.DAILY, day), (ArchiveKind.MONTHLY, day.replace(day=1))} & archived:
            continue
        key = (candidate.meter.pk, day)
        if key not in still_stored:
            start, end = day_bounds(day, tz)
            still_stored[key] = Reading.objects.filter(
                meter_id=candidate.meter.pk, at__gte=start, at__lt=end
            ).exists()
        if not still_stored[key]:
            _reject(
                candidate.result,
                "invalid",
                f"at: the raw readings of {day} were archived and pruned (older than "
                f"{settings.RAW_RETENTION_DAYS} days); restore that day first "
                f"(manage.py restore_readings {day}).",
            )


def _meters_for(meter_ids: set[str], user: User | None) -> dict[str, Meter]:
    queryset = Meter.objects.filter(meter_id__in=meter_ids)
    if user is not None:
        queryset = selectors.meters_for_user(user=user).filter(meter_id__in=meter_ids)
    locked = (
        Meter.objects.filter(pk__in=queryset.values("pk"))
        .order_by("pk")
        .select_for_update()
        # What ingest uses of a meter: hundreds are loaded per batch.
        .only("meter_id", "account_id", "kind", "timezone", "last_seen")
    )
    return {meter.meter_id: meter for meter in locked}


@transaction.atomic
def reading_ingest_bulk(
    *,
    items: Sequence[ReadingIn],
    source: str,
    user: User | None = None,
    atomic: bool = False,
    infer_resets: bool = False,
    into_pruned_days: bool = False,
) -> list[ItemResult]:
    """Validate and store readings of one or more meters; return one ItemResult per item, in
    order.

    ``user``: scope meters to what that user may see (a meter outside it is "unknown"); None
    for trusted internal processes (MQTT ingest, restore). ``atomic``: all or nothing — if any
    item is rejected nothing is written and ApplicationError (400, or Conflict 409 when every
    rejection is a conflict) is raised with ``extra={"results": [...]}``. Otherwise accepted
    items are written in one transaction and rejected ones reported. ``infer_resets``: for
    devices that cannot say so (an MQTT reading head on an exchanged meter), a register lower
    than the reading before it is stored as a reset of that register, not refused.
    ``into_pruned_days``: accept readings of live meters for days whose raw readings were archived
    and pruned (a restore from the archive); otherwise they are refused, since stored alone they
    would replace the day's roll-up with theirs.

    Raises ServiceUnavailable while reception is paused. Roll-ups are updated in the same
    transaction; live updates are pushed after commit.
    """
    reception_ensure_open()
    if source not in ReadingSource.values:
        raise ApplicationError(f"Unknown reading source {source!r}.", field="source")
    if len(items) > BULK_MAX_ITEMS:
        raise ApplicationError(
            f"At most {BULK_MAX_ITEMS} readings per request, not {len(items)}.", field="readings"
        )
    latest = timezone.now() + timedelta(seconds=settings.READING_MAX_CLOCK_SKEW_SECONDS)
    meters = _meters_for({str(item.meter_id) for item in items}, user)
    results: list[ItemResult] = []
    by_key: dict[tuple[int, datetime], _Candidate] = {}
    for index, item in enumerate(items):
        meter = meters.get(str(item.meter_id))
        if meter is None:
            result = ItemResult(index=index, meter_id=str(item.meter_id), at=None, status="")
            _reject(result, "unknown_meter", f"meter_id: no meter {item.meter_id!r}.")
            results.append(result)
            continue
        try:
            candidate = _validate_item(index, item, meter, latest)
        except ValueError as exc:
            result = ItemResult(index=index, meter_id=meter.meter_id, at=None, status="")
            _reject(result, "invalid", str(exc))
            results.append(result)
            continue
        results.append(candidate.result)
        first = by_key.get((meter.pk, candidate.at))
        if first is None:
            by_key[(meter.pk, candidate.at)] = candidate
        elif _same_values(candidate, first):
            candidate.result.status = DUPLICATE
        else:
            _reject(
                candidate.result,
                "conflict",
                f"import_kwh: item {first.index} has the same meter and time with another value.",
            )

    if not into_pruned_days:
        _refuse_pruned_days(list(by_key.values()))
    per_meter: dict[int, list[_Candidate]] = defaultdict(list)
    for candidate in by_key.values():
        if candidate.result.status == ACCEPTED:
            per_meter[candidate.meter.pk].append(candidate)
    # Only the stretch the batch covers, with its stored neighbours: enough for duplicates and
    # register checks, and an index probe or two per meter however many readings it holds.
    windows = {
        pk: (min(c.at for c in candidates) - JUST_BEFORE, max(c.at for c in candidates))
        for pk, candidates in per_meter.items()
    }
    series = _stored_series(windows)

    for pk, candidates in per_meter.items():
        stored_at = {point.at: point for point in series[pk].points}
        fresh = []
        for candidate in candidates:
            existing = stored_at.get(candidate.at)
            if existing is None:
                fresh.append(candidate)
            elif _same_values(candidate, existing):
                candidate.result.status = DUPLICATE
            else:
                _reject(
                    candidate.result,
                    "conflict",
                    f"import_kwh: a reading of {existing.import_kwh} kWh"
                    + (f" / export {existing.export_kwh}" if existing.export_kwh else "")
                    + f" is already stored for {candidate.at.isoformat()}.",
                )
        _check_registers(sorted(fresh, key=lambda c: c.at), series[pk], infer_resets=infer_resets)

    rejected = [result for result in results if result.status == REJECTED]
    if atomic and rejected:
        for result in results:
            if result.status != REJECTED:
                result.status = SKIPPED
                result.reason = "Not written: the batch is atomic and another item was rejected."
        error = Conflict if all(r.code == "conflict" for r in rejected) else ApplicationError
        raise error(
            f"{len(rejected)} of {len(results)} readings rejected; nothing was written. "
            f"First: item {rejected[0].index}: {rejected[0].reason}",
            extra={"results": [result_as_dict(r) for r in results]},
        )

    accepted = [c for c in by_key.values() if c.result.status == ACCEPTED]
    if accepted:
        _write_readings(accepted, source)
        _after_write(accepted, series)
    return results


def _after_write(accepted: list[_Candidate], series: dict[int, _Series]) -> None:
    """Roll-ups, last-seen and live pushes for readings just written. ``series``: each meter's
    stored readings around its accepted candidates, as loaded before the write."""
    per_meter: dict[int, list[_Candidate]] = defaultdict(list)
    for candidate in accepted:
        per_meter[candidate.meter.pk].append(candidate)
    appended: dict[int, tuple[_Point | None, list[_Candidate]]] = {}
    inserted: dict[int, list[_Candidate]] = {}
    seen: list[Meter] = []
    news: list[dict] = []
    recent = timezone.now() - LIVE_PUSH_WINDOW
    for pk, candidates in per_meter.items():
        candidates.sort(key=lambda c: c.at)
        meter_series = series[pk]
        last_stored = meter_series.points[-1] if meter_series.points else meter_series.before
        if meter_series.after is None and (
            not meter_series.points or meter_series.points[-1].at < candidates[0].at
        ):
            appended[pk] = (last_stored, candidates)
        else:
            inserted[pk] = candidates
        meter, newest = candidates[0].meter, candidates[-1]
        if meter.last_seen is None or newest.at > meter.last_seen:
            meter.last_seen = newest.at
            seen.append(meter)
            if newest.at >= recent:
                news.append(_live_reading(meter, newest))
    rollups, stale = _rollups_appended(appended)
    inserted.update(stale)
    rollups.extend(_rollups_recomputed(inserted, series))
    _rollups_save(rollups, {})
    _last_seen_save(seen)
    if news:
        transaction.on_commit(lambda: _push_readings(news))


def _stored_totals(keys: list[tuple[int, date]]) -> list[tuple]:
    """The stored roll-ups of these (meter, day) pairs as (meter_id, *_TOTALS_FIELDS) rows."""
    if not settings.DATABASE_IS_POSTGRES:
        wanted = Q()
        for pk, day in keys:
            wanted |= Q(meter_id=pk, day=day)
        return list(DailyUsage.objects.filter(wanted).values_list("meter_id", *_TOTALS_FIELDS))
    with array_cursor() as cursor:
        cursor.execute(
            f"SELECT d.meter_id, {', '.join('d.' + name for name in _TOTALS_FIELDS)} "  # noqa: S608
            f"FROM {DailyUsage._meta.db_table} d "
            "JOIN unnest(%b::bigint[], %b::date[]) AS k(meter_id, day) USING (meter_id, day)",
            [[pk for pk, _ in keys], [day for _, day in keys]],
        )
        return cursor.fetchall()


def _rollups_appended(
    appended: dict[int, tuple[_Point | None, list[_Candidate]]],
) -> tuple[list[_RollupRow], dict[int, list[_Candidate]]]:
    """Roll-ups of meters whose new readings all follow their last stored one (a live meter,
    every batch): each day's stored row plus the new intervals, no stored reading read. Returns
    the rows, and the meters to recompute instead (a stored row from before ``covered_from``
    was kept)."""
    if not appended:
        return [], {}
    days_of = {
        pk: {interval_day(c.at, candidates[0].meter.tz) for c in candidates}
        for pk, (_, candidates) in appended.items()
    }
    stored = {
        (row[0], row[1]): _DayTotals(*row[1:])
        for row in _stored_totals([(pk, day) for pk, days in days_of.items() for day in days])
    }
    rows: list[_RollupRow] = []
    stale: dict[int, list[_Candidate]] = {}
    for pk, (previous, candidates) in appended.items():
        kept = [stored.get((pk, day)) for day in days_of[pk]]
        if any(total is not None and total.covered_from is None for total in kept):
            stale[pk] = candidates
            continue
        meter = candidates[0].meter
        totals: dict[date, _DayTotals] = {}
        for candidate in candidates:
            if previous is not None:
                day = interval_day(candidate.at, meter.tz)
                if day not in totals:
                    totals[day] = stored.get((pk, day)) or _DayTotals(day=day)
                totals[day].add(previous, candidate)
            previous = candidate
        rows.extend(total.as_row(meter) for total in totals.values())
    return rows, stale


def _rollups_recomputed(
    inserted: dict[int, list[_Candidate]], series: dict[int, _Series]
) -> list[_RollupRow]:
    """Roll-ups of meters with new readings among stored ones (a backfill, a late reading):
    every day of a new reading, and the day of the stored reading that now follows one, read
    again from the stored readings (the new ones included)."""
    if not inserted:
        return []
    windows: dict[int, tuple[datetime, datetime]] = {}
    days_of: dict[int, set[date]] = {}
    for pk, candidates in inserted.items():
        tz = candidates[0].meter.tz
        # interval_day never decreases with time: the extremes give the day range.
        first_day = interval_day(candidates[0].at, tz)
        last_day = interval_day(candidates[-1].at, tz)
        days = {first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)}
        following = series[pk].after
        if following is not None:
            # Nothing is stored between the batch and that reading: the window stays small.
            days.add(interval_day(following.at, tz))
        days_of[pk] = days
        windows[pk] = (day_bounds(min(days), tz)[0], day_bounds(max(days), tz)[1])
    stored = _stored_series(windows)
    rows: list[_RollupRow] = []
    for pk, candidates in inserted.items():
        # Adding readings never leaves a day without intervals, so nothing to delete here.
        day_rows, _emptied = _rollup(candidates[0].meter, days_of[pk], stored[pk])
        rows.extend(day_rows)
    return rows


def _last_seen_save(meters: list[Meter]) -> None:
    """Store the new last_seen of ``meters``: they are row-locked by this transaction, so the
    values computed here are current."""
    if not meters:
        return
    if not settings.DATABASE_IS_POSTGRES:
        Meter.objects.bulk_update(meters, ["last_seen"], batch_size=500)
        return
    with array_cursor() as cursor:
        cursor.execute(
            f"UPDATE {Meter._meta.db_table} AS m SET last_seen = v.at "  # noqa: S608 - constant
            "FROM unnest(%b::bigint[], %b::timestamptz[]) AS v(id, at) WHERE m.id = v.id",
            [[meter.pk for meter in meters], [meter.last_seen for meter in meters]],
        )


# Live updates are for what is happening now: a backfill of old readings pushes nothing.
LIVE_PUSH_WINDOW = timedelta(hours=1)


def _live_reading(meter: Meter, newest: _Candidate) -> dict:
    return {
        "account_id": meter.account_id,
        "meter_id": meter.meter_id,
        "at": newest.at.isoformat(),
        "import_kwh": str(newest.import_kwh),
        "export_kwh": None if newest.export_kwh is None else str(newest.export_kwh),
        "power_w": newest.item.power_w,
    }


def _push_readings(news: list[dict]) -> None:
    """Push the newest reading of each meter, unless that meter was pushed within the last
    LIVE_PUSH_MIN_INTERVAL_SECONDS: a device that publishes faster, or a burst of redelivered
    messages, must not flood browsers (or the ingest's commit path). The mark is shared through
    the cache, so several ingest processes throttle together (two may both push in the same
    interval in a race; never more). Meters whose customer has no portal open cost nothing."""
    audience = live.with_audience(data["account_id"] for data in news)
    keys = {
        f"live:meter:{data['meter_id']}": data for data in news if data["account_id"] in audience
    }
    if not keys:
        return
    recently_pushed = cache.get_many(list(keys))
    due = {key: data for key, data in keys.items() if key not in recently_pushed}
    if not due:
        return
    cache.set_many(dict.fromkeys(due, 1), timeout=settings.LIVE_PUSH_MIN_INTERVAL_SECONDS)
    live.push_many((data.pop("account_id"), "meter.reading", data) for data in due.values())


def result_as_dict(result: ItemResult) -> dict:
    """An item's result for an answer; code, field and reason only when there is one (a
    10,000-item answer stays small)."""
    answer = {
        "index": result.index,
        "meter_id": result.meter_id,
        "at": result.at.isoformat() if result.at else None,
        "status": result.status,
    }
    for name in ("code", "field", "reason"):
        if value := getattr(result, name):
            answer[name] = value
    return answer


@transaction.atomic
def reading_record(
    *,
    meter: Meter,
    at: datetime | str,
    import_kwh: Decimal | float | int | str,
    source: str,
    export_kwh: Decimal | float | int | str | None = None,
    power_w: float | None = None,
    power_l1_w: float | None = None,
    power_l2_w: float | None = None,
    power_l3_w: float | None = None,
    quality: str = ReadingQuality.ACTUAL,
    register_reset: bool = False,
    export_register_reset: bool | None = None,
    raw: dict | None = None,
) -> tuple[Reading, bool]:
    """Store one reading of ``meter`` under the same rules as bulk ingest.

    Returns (reading, created): a duplicate (same time, same values) returns the stored reading
    and False. Raises Conflict (409) for the same time with another value, ApplicationError
    (400, naming the field) for a broken rule, ServiceUnavailable (503) while paused.
    """
    item = ReadingIn(
        meter_id=meter.meter_id,
        at=at,
        import_kwh=import_kwh,
        export_kwh=export_kwh,
        power_w=power_w,
        power_l1_w=power_l1_w,
        power_l2_w=power_l2_w,
        power_l3_w=power_l3_w,
        quality=quality,
        register_reset=register_reset,
        export_register_reset=export_register_reset,
        raw=raw,
    )
    [result] = reading_ingest_bulk(items=[item], source=source)
    if result.status == REJECTED:
        error = {"conflict": Conflict, "unknown_meter": NotFound}.get(result.code, ApplicationError)
        raise error(result.reason, field=result.field or None)
    reading = Reading.objects.get(meter=meter, at=result.at)
    return reading, result.status == ACCEPTED
