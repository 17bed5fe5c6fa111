"""Corrections of stored readings: staff amend or void one, with a reason.

A reading is named by ``(meter, at)``. Each correction keeps the reading's values before and
after in a ``ReadingCorrection`` (who, when, why), recomputes the roll-ups of the days whose
energy changed, and tells the apps that registered for reading changes (billing: its bills of
the months concerned are regenerated when drafts, or get a draft correction when issued), all in
one transaction. Nothing else changes: a refused correction changes nothing at all.

The energy a reading decides is that of the interval that ends at it and of the one that starts
at it, so a change to the reading at ``at`` changes energy in (previous reading, next reading]:
that span is what listeners are told about (``ReadingChange``).
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from itertools import pairwise

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.exceptions import ApplicationError, Conflict, NotFound
from config.inputs import InputError, text_check
from meters.models import (
    CorrectionAction,
    Meter,
    Reading,
    ReadingCorrection,
    ReadingQuality,
    ReadingSource,
)
from meters.timeutils import HALF_HOUR, JUST_BEFORE, as_utc, interval_day

from .ingest import _ingest_bulk, _refuse_atomic_batch, reading_ingest_bulk, reading_record
from .reception import reception_ensure_open
from .rollups import daily_usage_refresh
from .storage import _stored_series
from .validation import (
    _RESET_FLAGS,
    ACCEPTED,
    REJECTED,
    ItemResult,
    ReadingIn,
    _Candidate,
    _check_registers,
    _Series,
    _validate_item,
)

REASON_MAX_CHARS = 1000
_UNCHANGED = object()


@dataclass(frozen=True)
class ReadingChange:
    """Stored energy of ``meter`` changed in (start, end] (UTC): a reading at ``at`` was
    amended, voided or added. ``correction`` is the audit record being written."""

    meter: Meter
    at: datetime
    start: datetime
    end: datetime
    correction: ReadingCorrection


# Apps above meters (billing) register here from their AppConfig.ready(): meters cannot import
# them. A listener returns the bills (or other records) it touched as JSON-able dicts, kept on
# the correction.
_listeners: list[Callable[..., list[dict]]] = []


def reading_change_listener_register(listener: Callable[..., list[dict]]) -> None:
    """``listener(*, change: ReadingChange) -> list[dict]``, called inside the correction's
    transaction (an exception rolls the correction back)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _reason_check(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ApplicationError("reason: say why the reading is corrected.", field="reason")
    if len(reason) > REASON_MAX_CHARS:
        raise ApplicationError(
            f"reason: at most {REASON_MAX_CHARS} characters, not {len(reason)}.", field="reason"
        )
    try:
        return text_check(reason.strip())
    except InputError as exc:
        raise ApplicationError(f"reason: {exc.message}", field="reason") from exc


def _locked_reading(meter: Meter, at: datetime) -> tuple[Meter, Reading]:
    """The meter row-locked (as ingest locks it) and its reading at ``at``."""
    reception_ensure_open()
    locked = Meter.objects.select_for_update().get(pk=meter.pk)
    reading = Reading.objects.filter(meter=locked, at=at).first()
    if reading is None:
        raise NotFound(
            f"at: meter {meter.meter_id} has no reading at {at.isoformat()}.", field="at"
        )
    return locked, reading


def _neighbours(meter: Meter, at: datetime) -> _Series:
    """The readings just before and just after ``at`` (the reading at ``at`` left out)."""
    series = _stored_series({meter.pk: (at - JUST_BEFORE, at)})[meter.pk]
    return _Series(before=series.before, points=[], after=series.after)


def _days_around(meter: Meter, at: datetime, series: _Series) -> set[date]:
    days = {interval_day(at, meter.tz)}
    if series.after is not None:
        days.add(interval_day(series.after.at, meter.tz))
    return days


_VALUES = ("import_kwh", "export_kwh", "quality", "register_reset", "export_register_reset")


def _record(
    reading: Reading, *, action: str, reason: str, user: User | None, **new
) -> ReadingCorrection:
    """The (unsaved) audit record of a change to ``reading``: its stored values as the old ones,
    ``new`` (_VALUES names) as the new ones."""
    return ReadingCorrection(
        meter_id=reading.meter_id,
        at=reading.at,
        action=action,
        reason=reason,
        made_by=user,
        made_at=timezone.now(),
        old_source=reading.source,
        **{f"old_{name}": getattr(reading, name) for name in _VALUES},
        **{f"new_{name}": value for name, value in new.items()},
    )


def _finish(
    *, meter: Meter, at: datetime, series: _Series, days: set[date], correction: ReadingCorrection
) -> ReadingCorrection:
    """Roll-ups of ``days``, then the listeners; the audit record saved with what they did."""
    daily_usage_refresh(meter=meter, days=days)
    correction.days_recomputed = sorted(day.isoformat() for day in days)
    correction.save()
    change = ReadingChange(
        meter=meter,
        at=at,
        start=series.before.at if series.before else at,
        end=series.after.at if series.after else at,
        correction=correction,
    )
    touched: list[dict] = []
    for listener in _listeners:
        touched.extend(listener(change=change))
    if touched:
        correction.bills = touched
        correction.save(update_fields=["bills"])
    return correction


@transaction.atomic
def reading_amend(
    *,
    meter: Meter,
    at: datetime,
    user: User | None,
    reason: str,
    import_kwh: Decimal | int | str,
    export_kwh=_UNCHANGED,
    register_reset: bool | None = None,
    export_register_reset: bool | None = None,
    quality: str | None = None,
) -> ReadingCorrection:
    """Give the reading of ``meter`` at ``at`` new register values (and optionally reset flags
    or quality; omitted ones stay as stored), under ingest's rules for a reading against its
    neighbours. Raises NotFound (no such reading), ApplicationError naming the field (a broken
    rule, no reason, nothing changed), ServiceUnavailable while reception is paused."""
    reason = _reason_check(reason)
    meter, reading = _locked_reading(meter, at)
    item = ReadingIn(
        meter_id=meter.meter_id,
        at=reading.at,
        import_kwh=import_kwh,
        export_kwh=reading.export_kwh if export_kwh is _UNCHANGED else export_kwh,
        quality=reading.quality if quality is None else quality,
        register_reset=reading.register_reset if register_reset is None else register_reset,
        export_register_reset=(
            reading.export_register_reset
            if export_register_reset is None
            and (export_kwh is _UNCHANGED or export_kwh is not None)
            else export_register_reset
        ),
    )
    latest = timezone.now() + timedelta(seconds=settings.READING_MAX_CLOCK_SKEW_SECONDS)
    try:
        candidate = _validate_item(0, item, meter, max(latest, reading.at))
    except ValueError as exc:
        field, _, _rule = str(exc).partition(": ")
        raise ApplicationError(str(exc), field=field) from exc
    new = {
        "import_kwh": candidate.import_kwh,
        "export_kwh": candidate.export_kwh,
        "register_reset": candidate.register_reset,
        "export_register_reset": candidate.export_register_reset,
        "quality": item.quality,
    }
    if all(getattr(reading, name) == value for name, value in new.items()):
        raise ApplicationError(
            "import_kwh: the reading already has these values; nothing to correct.",
            field="import_kwh",
        )
    series = _neighbours(meter, reading.at)
    _check_registers([candidate], series)
    if candidate.result.status == REJECTED:
        raise ApplicationError(candidate.result.reason, field=candidate.result.field or None)
    correction = _record(reading, action=CorrectionAction.AMEND, reason=reason, user=user, **new)
    Reading.objects.filter(meter=meter, at=reading.at).update(**new)
    days = _days_around(meter, reading.at, series)
    return _finish(meter=meter, at=reading.at, series=series, days=days, correction=correction)


@transaction.atomic
def reading_void(
    *, meter: Meter, at: datetime, user: User | None, reason: str
) -> ReadingCorrection:
    """Remove the reading of ``meter`` at ``at`` from the meter's data (its values stay in the
    audit record). Refused when the readings either side of it would then break the register
    rules (the voided reading carried a reset the next one relies on)."""
    reason = _reason_check(reason)
    meter, reading = _locked_reading(meter, at)
    series = _neighbours(meter, reading.at)
    before, after = series.before, series.after
    if before is not None and after is not None:
        for register, flag in _RESET_FLAGS.items():
            low, high = getattr(before, register), getattr(after, register)
            if low is not None and high is not None and high < low and not getattr(after, flag):
                raise ApplicationError(
                    f"at: voiding this reading would leave {register} going down from {low} at "
                    f"{before.at.isoformat()} to {high} at {after.at.isoformat()}; amend the "
                    f"later reading ({flag}) first.",
                    field="at",
                )
    correction = _record(reading, action=CorrectionAction.VOID, reason=reason, user=user)
    Reading.objects.filter(meter=meter, at=reading.at).delete()
    days = _days_around(meter, reading.at, series)
    return _finish(meter=meter, at=reading.at, series=series, days=days, correction=correction)


# --- Gaps estimated from the meter's own profile ----------------------------------------------

PROFILE_DAYS = 28
MAX_ESTIMATES = 62 * 50  # two months of half-hours: a longer gap is a meter to visit, not fill
ESTIMATE_REASON = "Gap estimated from the meter's own half-hourly profile."


def _slot(at: datetime, meter: Meter) -> tuple[int, int]:
    """The local half-hour-of-day of the interval that ends at ``at``."""
    local = (at - HALF_HOUR).astimezone(meter.tz)
    return local.hour, local.minute // 30


def _profile(meter: Meter, before: datetime) -> dict[tuple[int, int], Decimal]:
    """Mean import per local half-hour of the day over the PROFILE_DAYS before ``before``, from
    the meter's actual half-hour intervals (estimates and resets left out)."""
    rows = (
        Reading.objects.filter(
            meter=meter, at__gte=before - timedelta(days=PROFILE_DAYS), at__lte=before
        )
        .order_by("at")
        .values_list("at", "import_kwh", "register_reset", "quality")
    )
    sums: dict[tuple[int, int], Decimal] = {}
    counts: dict[tuple[int, int], int] = {}
    previous = None
    for at, kwh, reset, quality in rows:
        if (
            previous is not None
            and at - previous[0] == HALF_HOUR
            and not reset
            and ReadingQuality.ESTIMATED not in (quality, previous[2])
        ):
            slot = _slot(at, meter)
            sums[slot] = sums.get(slot, Decimal(0)) + (kwh - previous[1])
            counts[slot] = counts.get(slot, 0) + 1
        previous = (at, kwh, quality)
    return {slot: total / counts[slot] for slot, total in sums.items()}


_PLACE = Decimal("0.0001")


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Cumulative shares of ``total`` by ``weights`` (flat when they are all zero), rounded down
    to the register's places so the registers never pass the reading that ends the gap."""
    whole = sum(weights, Decimal(0))
    if whole <= 0:
        weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    shares, running = [], Decimal(0)
    for weight in weights[:-1]:
        running += weight
        shares.append((total * running / whole).quantize(_PLACE, rounding=ROUND_DOWN))
    return shares


def _gap_items(meter: Meter, before, after, profile) -> list[ReadingIn]:
    """Estimates at each missing half-hour between two stored readings."""
    steps = (after.at - before.at) / HALF_HOUR
    if steps != int(steps) or steps < 2 or after.register_reset:
        return []
    times = [before.at + HALF_HOUR * k for k in range(1, int(steps))]
    fallback = sum(profile.values(), Decimal(0)) / len(profile) if profile else Decimal(0)
    weights = [profile.get(_slot(at, meter), fallback) for at in [*times, after.at]]
    imports = _split(after.import_kwh - before.import_kwh, weights)
    exports: list[Decimal | None] = [None] * len(times)
    if (
        before.export_kwh is not None
        and after.export_kwh is not None
        and not after.export_register_reset
    ):
        evenly = [Decimal(1)] * (len(times) + 1)
        exports = [
            before.export_kwh + value
            for value in _split(after.export_kwh - before.export_kwh, evenly)
        ]
    return [
        ReadingIn(
            meter_id=meter.meter_id,
            at=at,
            import_kwh=before.import_kwh + value,
            export_kwh=export,
            quality=ReadingQuality.ESTIMATED,
        )
        for at, value, export in zip(times, imports, exports, strict=True)
    ]


_POINT_COLUMNS = ("at", "import_kwh", "export_kwh", "register_reset", "export_register_reset")


def _estimate_between(meter: Meter, start: datetime, end: datetime) -> list[ReadingIn]:
    """Estimates for every gap between the stored readings from ``start`` to ``end``."""
    points = Reading.objects.filter(meter=meter, at__gte=start, at__lte=end).order_by("at")
    points = list(
        points.only("at", "import_kwh", "export_kwh", "register_reset", "export_register_reset")
    )
    items: list[ReadingIn] = []
    for before, after in pairwise(points):
        if after.at - before.at > HALF_HOUR:
            items.extend(_gap_items(meter, before, after, _profile(meter, before.at)))
        if len(items) > MAX_ESTIMATES:
            raise ApplicationError(
                f"end: more than {MAX_ESTIMATES} half-hours to estimate; estimate a shorter "
                f"span (or visit the meter).",
                field="end",
            )
    return items


def _store_estimates(
    *, meter: Meter, items: list[ReadingIn], user: User | None, reason: str, action: str
) -> list[ReadingCorrection]:
    if not items:
        return []
    results = reading_ingest_bulk(items=items, source=ReadingSource.ESTIMATE, atomic=True)
    made_at = timezone.now()
    return ReadingCorrection.objects.bulk_create(
        ReadingCorrection(
            meter=meter,
            at=result.at,
            action=action,
            reason=reason,
            made_by=user,
            made_at=made_at,
            new_import_kwh=Decimal(item.import_kwh),
            new_export_kwh=item.export_kwh,
            new_quality=ReadingQuality.ESTIMATED,
            new_register_reset=False,
            new_export_register_reset=False,
        )
        for item, result in zip(items, results, strict=True)
    )


def _tell_listeners(*, meter: Meter, start: datetime, end: datetime, records) -> list[dict]:
    """Listeners once for a span; what they touched is kept on each of its records."""
    if not records:
        return []
    change = ReadingChange(meter=meter, at=start, start=start, end=end, correction=records[0])
    touched: list[dict] = []
    for listener in _listeners:
        touched.extend(listener(change=change))
    days = sorted({interval_day(record.at, meter.tz).isoformat() for record in records})
    for record in records:
        record.bills, record.days_recomputed = touched, days
    ReadingCorrection.objects.bulk_update(records, ["bills", "days_recomputed"])
    return touched


@transaction.atomic
def reading_gaps_estimate(
    *, meter: Meter, start: datetime, end: datetime, user: User | None = None
) -> list[ReadingCorrection]:
    """Fill every gap between the meter's stored readings from ``start`` to ``end`` (the
    readings at or around them included) with estimates (quality estimated, source estimate)
    at each missing half-hour: the gap's energy, which the readings either side fix, split by
    the meter's own profile (its mean use in each half-hour of the day over the PROFILE_DAYS
    before the gap; flat without one; export split evenly). Bills needing a value get one per
    half-hour instead of one interval across the gap. Returns the audit records (one per
    estimate). A later actual read replaces an estimate (``reading_estimate_replace``)."""
    if end <= start:
        raise ApplicationError("end: must be after start.", field="end")
    reception_ensure_open()
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    first = Reading.objects.filter(meter=meter, at__lte=start).order_by("-at").first()
    last = Reading.objects.filter(meter=meter, at__gte=end).order_by("at").first()
    span = (first.at if first else start, last.at if last else end)
    records = _store_estimates(
        meter=meter,
        items=_estimate_between(meter, *span),
        user=user,
        reason=ESTIMATE_REASON,
        action=CorrectionAction.ESTIMATE,
    )
    _tell_listeners(meter=meter, start=span[0], end=span[1], records=records)
    return records


@transaction.atomic
def reading_estimate_replace(
    *,
    meter: Meter,
    at: datetime,
    import_kwh: Decimal,
    export_kwh: Decimal | None = None,
    source: str,
    quality: str = ReadingQuality.ACTUAL,
    user: User | None = None,
) -> ReadingCorrection:
    """An actual read arrived for a time that holds an estimate: the gap's estimates are
    removed, the actual read stored under ingest's rules (refused: nothing changes), and what is
    still missing either side of it estimated again from the profile. The replaced estimate's
    audit record says so (action replace, old and new values)."""
    reception_ensure_open()
    meter, estimate = _locked_reading(meter, at)
    if estimate.quality != ReadingQuality.ESTIMATED:
        raise ApplicationError(
            f"at: the reading at {at.isoformat()} is not an estimate.", field="at"
        )
    before = (
        Reading.objects.filter(meter=meter, at__lt=at)
        .exclude(quality=ReadingQuality.ESTIMATED)
        .order_by("-at")
        .first()
    )
    after = (
        Reading.objects.filter(meter=meter, at__gt=at)
        .exclude(quality=ReadingQuality.ESTIMATED)
        .order_by("at")
        .first()
    )
    run = Reading.objects.filter(meter=meter, quality=ReadingQuality.ESTIMATED)
    if before is not None:
        run = run.filter(at__gt=before.at)
    if after is not None:
        run = run.filter(at__lt=after.at)
    replaced_days = {interval_day(when, meter.tz) for when in run.values_list("at", flat=True)}
    run.delete()
    item = ReadingIn(
        meter_id=meter.meter_id,
        at=at,
        import_kwh=import_kwh,
        export_kwh=export_kwh,
        quality=quality,
    )
    [result] = reading_ingest_bulk(items=[item], source=source)
    if result.status == REJECTED:
        raise ApplicationError(result.reason, field=result.field or None)
    stored = Reading.objects.get(meter=meter, at=at)
    record = _record(
        estimate,
        action=CorrectionAction.REPLACE_ESTIMATE,
        reason=f"Actual read ({source}) replaced the estimate.",
        user=user,
        **{name: getattr(stored, name) for name in _VALUES},
    )
    record.save()
    start = before.at if before else at
    end = after.at if after else at
    again = _store_estimates(
        meter=meter,
        items=_estimate_between(meter, start, end),
        user=user,
        reason=ESTIMATE_REASON,
        action=CorrectionAction.ESTIMATE,
    )
    daily_usage_refresh(meter=meter, days=replaced_days | {interval_day(at, meter.tz)})
    _tell_listeners(meter=meter, start=start, end=end, records=[record, *again])
    record.refresh_from_db()
    return record


@transaction.atomic
def reading_record_or_replace_estimate(
    *, meter: Meter, source: str, **values
) -> tuple[Reading, bool]:
    """``reading_record``, except that an actual read for a time holding an estimate replaces
    it (``reading_estimate_replace``) rather than conflicting with it."""
    try:
        return reading_record(meter=meter, source=source, **values)
    except Conflict:
        at = values["at"]
        if isinstance(at, datetime):
            at = as_utc(at, meter.tz)
        stored = Reading.objects.filter(meter=meter, at=at).first()
        if stored is None or stored.quality != ReadingQuality.ESTIMATED:
            raise
        reading_estimate_replace(
            meter=meter,
            at=stored.at,
            import_kwh=values["import_kwh"],
            export_kwh=values.get("export_kwh"),
            source=source,
            quality=values.get("quality", ReadingQuality.ACTUAL),
        )
        return Reading.objects.get(meter=meter, at=stored.at), True


@transaction.atomic
def reading_ingest_bulk_replacing_estimates(
    *, items: Sequence[ReadingIn], source: str, user=None, atomic: bool = False
) -> list[ItemResult]:
    """``reading_ingest_bulk``, except that an item whose one conflict is an estimate stored
    for its time replaces it, as ``reading_estimate_replace`` does for one read (the bulk REST
    door): per gap between the meter's actual readings, the gap's estimates are removed, its
    actual reads stored under ingest's rules, what is still missing estimated again once, the
    roll-ups recomputed, one audit record (action replace) per replaced estimate and the
    listeners told once. An item refused there is reported so (atomic: nothing is written);
    a gap none of whose reads is taken keeps its estimates. ``user``: the request's (a User, or
    a meter key's device), which scopes the meters as in reading_ingest_bulk."""
    results, replacing = _ingest_bulk(
        items=items, source=source, user=user, atomic=atomic, over_estimates=True
    )
    # The audit records name a person; a meter key's device (meters.authentication) is none.
    author = user if isinstance(user, User) else None
    if replacing:
        by_meter: dict[int, list[_Candidate]] = defaultdict(list)
        for candidate in replacing:
            by_meter[candidate.meter.pk].append(candidate)
        meters = Meter.objects.in_bulk(list(by_meter))
        for pk, candidates in by_meter.items():
            for before, after, gap in _estimate_gaps(meters[pk], candidates):
                _gap_replace(meters[pk], before, after, gap, source=source, user=author)
        if atomic:
            _refuse_atomic_batch(results)
    return results


def _estimate_gaps(
    meter: Meter, candidates: list[_Candidate]
) -> list[tuple[datetime | None, datetime | None, list[_Candidate]]]:
    """``candidates`` (each at a stored estimate) by the gap between actual readings that holds
    them: (the actual reading before, the one after, the gap's candidates)."""
    candidates = sorted(candidates, key=lambda c: c.at)
    first, last = candidates[0].at, candidates[-1].at
    actual = Reading.objects.filter(meter=meter).exclude(quality=ReadingQuality.ESTIMATED)
    before = actual.filter(at__lt=first).order_by("-at").values_list("at", flat=True).first()
    after = actual.filter(at__gt=last).order_by("at").values_list("at", flat=True).first()
    inside = list(
        actual.filter(at__gt=first, at__lt=last).order_by("at").values_list("at", flat=True)
    )
    bounds = [before, *inside, after]
    gaps: dict[int, list[_Candidate]] = defaultdict(list)
    for candidate in candidates:
        gaps[bisect_left(inside, candidate.at)].append(candidate)
    return [(bounds[number], bounds[number + 1], gap) for number, gap in gaps.items()]


class _NothingTaken(Exception):
    """No read of a gap was taken: its savepoint is rolled back (the estimates stay)."""


def _gap_replace(
    meter: Meter,
    before: datetime | None,
    after: datetime | None,
    gap: list[_Candidate],
    *,
    source: str,
    user: User | None,
) -> None:
    """The actual reads ``gap`` of one gap in place of its estimates; each candidate's result
    says what became of it."""
    estimates = Reading.objects.filter(meter=meter, quality=ReadingQuality.ESTIMATED)
    if before is not None:
        estimates = estimates.filter(at__gt=before)
    if after is not None:
        estimates = estimates.filter(at__lt=after)
    replaced = {reading.at: reading for reading in estimates.filter(at__in=[c.at for c in gap])}
    try:
        with transaction.atomic():
            days = {interval_day(at, meter.tz) for at in estimates.values_list("at", flat=True)}
            estimates.delete()
            outcomes = reading_ingest_bulk(items=[c.item for c in gap], source=source)
            if not any(outcome.status == ACCEPTED for outcome in outcomes):
                raise _NothingTaken
            _gap_refill(
                meter, before, after, gap, outcomes, replaced, days, source=source, user=user
            )
    except _NothingTaken:
        pass
    for candidate, outcome in zip(gap, outcomes, strict=True):
        result = candidate.result
        result.status, result.code, result.field = outcome.status, outcome.code, outcome.field
        result.reason, result.against = outcome.reason, outcome.against
        result.against_side = outcome.against_side


def _gap_refill(
    meter: Meter,
    before: datetime | None,
    after: datetime | None,
    gap: list[_Candidate],
    outcomes: list[ItemResult],
    replaced: dict[datetime, Reading],
    days: set[date],
    *,
    source: str,
    user: User | None,
) -> None:
    """After a gap's reads were stored: the audit records, the gap's holes estimated again,
    roll-ups and listeners."""
    taken = [c.at for c, outcome in zip(gap, outcomes, strict=True) if outcome.status == ACCEPTED]
    stored = {reading.at: reading for reading in Reading.objects.filter(meter=meter, at__in=taken)}
    records = ReadingCorrection.objects.bulk_create(
        _record(
            replaced[at],
            action=CorrectionAction.REPLACE_ESTIMATE,
            reason=f"Actual read ({source}) replaced the estimate.",
            user=user,
            **{name: getattr(stored[at], name) for name in _VALUES},
        )
        for at in taken
    )
    start = before or min(taken)
    end = after or max(taken)
    again = _store_estimates(
        meter=meter,
        items=_estimate_between(meter, start, end),
        user=user,
        reason=ESTIMATE_REASON,
        action=CorrectionAction.ESTIMATE,
    )
    daily_usage_refresh(meter=meter, days=days | {interval_day(at, meter.tz) for at in taken})
    _tell_listeners(meter=meter, start=start, end=end, records=[*records, *again])
