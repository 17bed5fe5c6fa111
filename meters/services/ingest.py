"""The one ingest: ``reading_ingest_bulk`` for any number of readings of any meters, and
``reading_record``, the same rules for one reading."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from config.database import array_cursor
from config.exceptions import ApplicationError, Conflict, NotFound
from config.inputs import earliest_datetime
from meters import selectors
from meters.models import (
    Archive,
    ArchiveKind,
    Meter,
    MeterKind,
    Reading,
    ReadingQuality,
    ReadingSource,
)
from meters.timeutils import JUST_BEFORE, day_bounds

from .pushes import LIVE_PUSH_WINDOW, _live_reading, _push_readings, readings_announce
from .reception import reception_ensure_open
from .rollups import _rollups_appended, _rollups_recomputed, _rollups_save
from .storage import _last_seen_save, _stored_series, _write_readings
from .validation import (
    ACCEPTED,
    BULK_MAX_ITEMS,
    DUPLICATE,
    REJECTED,
    REPLACING,
    SKIPPED,
    ItemResult,
    LockedMeter,
    ReadingIn,
    _Candidate,
    _check_registers,
    _Point,
    _reject,
    _same_values,
    _Series,
    _validate_item,
    result_as_dict,
)


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


_LOCK_COLUMNS = ("pk", "meter_id", "account_id", "kind", "timezone", "last_seen")
_LOCK_SQL = (
    f"SELECT id, meter_id, account_id, kind, timezone, last_seen FROM {Meter._meta.db_table} "  # noqa: S608
    "WHERE meter_id = ANY(%b::text[]) ORDER BY id FOR UPDATE"
)


def _meters_for(meter_ids: set[str], user: User | None) -> dict[str, LockedMeter]:
    """The meters of a batch, row-locked in key order (two batches never deadlock), by meter
    number; scoped to what ``user`` may see when given."""
    if user is None and settings.DATABASE_IS_POSTGRES:
        with array_cursor() as cursor:
            cursor.execute(_LOCK_SQL, [list(meter_ids)])
            rows = cursor.fetchall()
    else:
        queryset = Meter.objects.filter(meter_id__in=meter_ids)
        if user is not None:
            queryset = selectors.meters_for_user(user=user).filter(meter_id__in=meter_ids)
        rows = (
            Meter.objects.filter(pk__in=queryset.values("pk"))
            .order_by("pk")
            .select_for_update()
            .values_list(*_LOCK_COLUMNS)
        )
    return {row[1]: LockedMeter(*row, tz=ZoneInfo(row[4])) for row in rows}


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
    results, _ = _ingest_bulk(
        items=items,
        source=source,
        user=user,
        atomic=atomic,
        infer_resets=infer_resets,
        into_pruned_days=into_pruned_days,
    )
    return results


def _ingest_bulk(
    *,
    items: Sequence[ReadingIn],
    source: str,
    user: User | None = None,
    atomic: bool = False,
    infer_resets: bool = False,
    into_pruned_days: bool = False,
    over_estimates: bool = False,
) -> tuple[list[ItemResult], list[_Candidate]]:
    """reading_ingest_bulk, and with ``over_estimates`` the candidates whose one conflict is a
    stored estimate at their time: not written, left with status REPLACING for the caller
    (corrections.reading_ingest_bulk_replacing_estimates) to put in the estimate's place."""
    _batch_check(items, source)
    now = timezone.now()
    latest = now + timedelta(seconds=settings.READING_MAX_CLOCK_SKEW_SECONDS)
    meters = _meters_for({str(item.meter_id) for item in items}, user)
    results, by_key = _candidates_of(items, meters, latest, now)
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
        _check_against_stored(candidates, series[pk], infer_resets=infer_resets)
    replacing = _conflicts_with_estimates(per_meter) if over_estimates else []
    if atomic:
        _refuse_atomic_batch(results)
    accepted = [c for c in by_key.values() if c.result.status == ACCEPTED]
    if accepted:
        _write_readings(accepted, source)
        _after_write(accepted, series, source)
    return results, replacing


def _conflicts_with_estimates(per_meter: dict[int, list[_Candidate]]) -> list[_Candidate]:
    """The candidates refused as a conflict with a stored reading that is an estimate, set to
    REPLACING (a conflict within the batch, or with an actual reading, stays refused)."""
    conflicts: dict[int, list[_Candidate]] = {}
    for pk, candidates in per_meter.items():
        refused = [
            c for c in candidates if c.result.status == REJECTED and c.result.code == "conflict"
        ]
        if refused:
            conflicts[pk] = refused
    replacing = []
    for pk, candidates in conflicts.items():
        estimated = set(
            Reading.objects.filter(
                meter_id=pk,
                at__in=[c.at for c in candidates],
                quality=ReadingQuality.ESTIMATED,
            ).values_list("at", flat=True)
        )
        for candidate in candidates:
            if candidate.at in estimated:
                result = candidate.result
                result.status, result.code, result.field, result.reason = REPLACING, "", "", ""
                replacing.append(candidate)
    return replacing


def _batch_check(items: Sequence[ReadingIn], source: str) -> None:
    """What refuses the whole batch before any item is looked at."""
    reception_ensure_open()
    if source not in ReadingSource.values:
        raise ApplicationError(f"Unknown reading source {source!r}.", field="source")
    if len(items) > BULK_MAX_ITEMS:
        raise ApplicationError(
            f"At most {BULK_MAX_ITEMS} readings per request, not {len(items)}.", field="readings"
        )


def _candidates_of(
    items: Sequence[ReadingIn], meters: dict[str, LockedMeter], latest: datetime, now: datetime
) -> tuple[list[ItemResult], dict[tuple[int, datetime], _Candidate]]:
    """Each item's result (in order), and the valid items by (meter, time): the first of a
    (meter, time) pair is the candidate, a later one with the same values a duplicate, with
    other values a conflict."""
    results: list[ItemResult] = []
    by_key: dict[tuple[int, datetime], _Candidate] = {}
    earliest = earliest_datetime()
    times: dict = {}
    for index, item in enumerate(items):
        meter = meters.get(str(item.meter_id))
        if meter is None:
            result = ItemResult(index=index, meter_id=str(item.meter_id), at=None, status="")
            _reject(result, "unknown_meter", f"meter_id: no meter {item.meter_id!r}.")
            results.append(result)
            continue
        try:
            candidate = _validate_item(
                index, item, meter, latest, now=now, earliest=earliest, times=times
            )
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
    return results, by_key


def _check_against_stored(
    candidates: list[_Candidate], series: _Series, *, infer_resets: bool
) -> None:
    """One meter's candidates against its stored readings: the same time and values is a
    duplicate, the same time with other values a conflict; the rest must keep the registers
    from going down."""
    stored_at = {point.at: point for point in series.points}
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
    _check_registers(sorted(fresh, key=lambda c: c.at), series, infer_resets=infer_resets)


def _refuse_atomic_batch(results: list[ItemResult]) -> None:
    """An atomic batch with a rejected item: every other item is skipped and nothing is written
    (Conflict when every rejection is a conflict)."""
    rejected = [result for result in results if result.status == REJECTED]
    if not rejected:
        return
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


def _after_write(accepted: list[_Candidate], series: dict[int, _Series], source: str) -> None:
    """Roll-ups, last-seen and live pushes for readings just written. ``series``: each meter's
    stored readings around its accepted candidates, as loaded before the write."""
    per_meter: dict[int, list[_Candidate]] = defaultdict(list)
    for candidate in accepted:
        per_meter[candidate.meter.pk].append(candidate)
    appended: dict[int, tuple[_Point | None, list[_Candidate]]] = {}
    inserted: dict[int, list[_Candidate]] = {}
    seen: list[LockedMeter] = []
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
    readings_announce(per_meter, source)
    if news:
        transaction.on_commit(lambda: _push_readings(news))


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
