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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.exceptions import ApplicationError, NotFound
from config.inputs import InputError, text_check
from meters.models import (
    CorrectionAction,
    Meter,
    Reading,
    ReadingCorrection,
)
from meters.timeutils import JUST_BEFORE, interval_day

from .reception import reception_ensure_open
from .rollups import daily_usage_refresh
from .storage import _stored_series
from .validation import REJECTED, ReadingIn, _check_registers, _Series, _validate_item

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


def _old_values(reading: Reading) -> dict:
    return {
        "old_import_kwh": reading.import_kwh,
        "old_export_kwh": reading.export_kwh,
        "old_source": reading.source,
        "old_quality": reading.quality,
        "old_register_reset": reading.register_reset,
        "old_export_register_reset": reading.export_register_reset,
    }


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
    correction = ReadingCorrection(
        meter=meter,
        at=reading.at,
        action=CorrectionAction.AMEND,
        reason=reason,
        made_by=user,
        made_at=timezone.now(),
        **_old_values(reading),
        **{f"new_{name}": value for name, value in new.items()},
    )
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
        for register, flag in (
            ("import_kwh", "register_reset"),
            ("export_kwh", "export_register_reset"),
        ):
            low, high = getattr(before, register), getattr(after, register)
            if low is not None and high is not None and high < low and not getattr(after, flag):
                raise ApplicationError(
                    f"at: voiding this reading would leave {register} going down from {low} at "
                    f"{before.at.isoformat()} to {high} at {after.at.isoformat()}; amend the "
                    f"later reading ({flag}) first.",
                    field="at",
                )
    correction = ReadingCorrection(
        meter=meter,
        at=reading.at,
        action=CorrectionAction.VOID,
        reason=reason,
        made_by=user,
        made_at=timezone.now(),
        **_old_values(reading),
    )
    Reading.objects.filter(meter=meter, at=reading.at).delete()
    days = _days_around(meter, reading.at, series)
    return _finish(meter=meter, at=reading.at, series=series, days=days, correction=correction)
