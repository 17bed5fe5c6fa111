"""Reads a customer submits for their own interval meter (portal form and API).

Every rule of a reading is ingest's (``validation``): the read goes through
``reading_ingest_bulk`` like any other door's, stored with source and quality ``customer``. This
module adds what only a customer's read has: the meter must be theirs and an interval meter, the
refusals are worded for a person ("lower than your last reading of 12,345.6 on 3 Nov — did your
meter change?"), and an implausible read is stored but flagged for staff review.

Plausibility: the energy a read implies since the reading before it is compared with the
meter's own usage. The limit is ``IMPLAUSIBLE_FACTOR`` (5) times the 95th percentile of the
meter's daily import over the ``USAGE_HISTORY_DAYS`` (90) local days before the read (complete
days only, nearest-rank percentile), extrapolated over the gap between the two reads (at least
a half-hour). With fewer than ``MIN_HISTORY_DAYS`` (7) complete days the meter has no usual
usage yet, and ``FALLBACK_DAILY_KWH`` (a generous domestic day, 100 kWh) stands in for the
percentile. A read after a register reset implies nothing and is never flagged.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.exceptions import ApplicationError, Conflict, NotFound, ServiceUnavailable
from meters import selectors
from meters.models import (
    CustomerRead,
    DailyUsage,
    Meter,
    MeterKind,
    MeterStatus,
    Reading,
    ReadingQuality,
    ReadingSource,
)
from meters.timeutils import HALF_HOUR, local_day
from notifications.models import EventKind
from notifications.services import event_publish

from .corrections import reading_estimate_replace
from .ingest import reading_ingest_bulk
from .validation import DUPLICATE, REJECTED, ItemResult, ReadingIn

IMPLAUSIBLE_FACTOR = 5
USAGE_HISTORY_DAYS = 90
MIN_HISTORY_DAYS = 7
FALLBACK_DAILY_KWH = Decimal(100)
PERCENTILE = 95
_REGISTER_WORDS = {"import_kwh": "reading", "export_kwh": "export reading"}


@dataclass(frozen=True)
class SubmittedRead:
    reading: Reading
    customer_read: CustomerRead
    created: bool


def kwh_text(value: Decimal) -> str:
    """A register as people write it: 12,345.6 (thousands separated, no trailing zeros)."""
    return f"{value.normalize():,f}"


def _when_text(at: datetime, meter: Meter, other: datetime) -> str:
    """'3 Nov' in the meter's zone, with the year when it differs from ``other``'s and the
    time when both fall on the same day."""
    local, near = at.astimezone(meter.tz), other.astimezone(meter.tz)
    text = f"{local.day} {local:%b}"
    if local.year != near.year:
        text += f" {local.year}"
    if local.date() == near.date():
        text += f" at {local:%H:%M}"
    return text


def _refusal(result: ItemResult, meter: Meter, submitted_at: datetime | None) -> ApplicationError:
    """The ingest refusal of a customer's read, in the customer's words where ingest's are a
    device's."""
    against, register = result.against, result.field
    if against is not None and submitted_at is not None and register in _REGISTER_WORDS:
        word = _REGISTER_WORDS[register]
        value = kwh_text(getattr(against, register))
        when = _when_text(against.at, meter, submitted_at)
        if result.against_side == "below":
            message = (
                f"{register}: lower than your last {word} of {value} on {when} — did your meter "
                f"change? If it did, contact us rather than submitting the new meter's read."
            )
        else:
            message = (
                f"{register}: higher than the {word} of {value} on {when}, which is later — "
                f"check the date and the digits."
            )
        return ApplicationError(message, field=register)
    if result.code == "conflict":
        return Conflict(
            f"at: another reading is already stored for that time "
            f"({result.reason.partition(': ')[2]})",
            field="at",
        )
    if result.code == "unknown_meter":
        return NotFound(result.reason, field="meter_id")
    return ApplicationError(result.reason, field=result.field or None)


def _meter_check(*, user: User, meter: Meter) -> None:
    if not selectors.meters_for_user(user=user).filter(pk=meter.pk).exists():
        raise NotFound(f"meter_id: no meter {meter.meter_id!r}.", field="meter_id")
    if meter.kind != MeterKind.INTERVAL:
        raise ApplicationError(
            "meter_id: a live telemetry device sends its own readings; customers submit reads "
            "of an interval (register) meter.",
            field="meter_id",
        )
    if meter.status != MeterStatus.ACTIVE:
        raise ApplicationError(
            f"meter_id: the meter is {meter.get_status_display().lower()}; it takes no reads.",
            field="meter_id",
        )


def _percentile(values: list[Decimal], percent: int) -> Decimal:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[rank - 1]


def read_plausibility(*, meter: Meter, reading: Reading) -> tuple[bool, str]:
    """(implausible, note) of a stored read against the meter's usual usage (module doc)."""
    previous = (
        Reading.objects.filter(meter=meter, at__lt=reading.at)
        .order_by("-at")
        .values_list("at", "import_kwh")
        .first()
    )
    if previous is None or reading.register_reset:
        return False, ""
    previous_at, previous_kwh = previous
    used = reading.import_kwh - previous_kwh
    today = local_day(reading.at, meter.tz)
    history = list(
        DailyUsage.objects.filter(
            meter=meter,
            day__gte=today - timedelta(days=USAGE_HISTORY_DAYS),
            day__lt=today,
            is_partial=False,
        ).values_list("import_kwh", flat=True)
    )
    if len(history) >= MIN_HISTORY_DAYS:
        daily = _percentile(history, PERCENTILE)
        basis = f"{PERCENTILE}th percentile of {len(history)} days: {kwh_text(daily)} kWh/day"
    else:
        daily = FALLBACK_DAILY_KWH
        basis = f"too little history, default {kwh_text(daily)} kWh/day"
    gap = max(reading.at - previous_at, HALF_HOUR)
    limit = (IMPLAUSIBLE_FACTOR * daily * Decimal(gap / timedelta(days=1))).quantize(
        Decimal("0.0001")
    )
    note = (
        f"{kwh_text(used)} kWh since {previous_at:%Y-%m-%d %H:%M} UTC; limit "
        f"{kwh_text(limit)} kWh ({IMPLAUSIBLE_FACTOR} x {basis}, over {gap})"
    )
    return used > limit, note


def _holds_estimate(meter: Meter, result: ItemResult) -> bool:
    """The read conflicts with an estimate, which an actual read replaces."""
    return (
        result.code == "conflict"
        and Reading.objects.filter(
            meter=meter, at=result.at, quality=ReadingQuality.ESTIMATED
        ).exists()
    )


def customer_read_submit(
    *,
    user: User,
    meter: Meter,
    at: datetime | str,
    import_kwh: Decimal | int | str,
    export_kwh: Decimal | int | str | None = None,
    channel: str,
) -> SubmittedRead:
    """Store a customer's read of their interval meter under ingest's rules, with source and
    quality ``customer``; flag it for review when implausible. The same read again is a no-op
    (created False). Raises ApplicationError naming the field, with a refusal worded for the
    customer (nothing is stored), NotFound for a meter not theirs, Conflict for another value
    already stored at that time, ServiceUnavailable while reception is paused.

    A refusal by a rule (400, 409) is also published as a ``read_refused`` event to the meter's
    account (mail to whoever wants it, webhooks), after nothing was stored."""
    try:
        return _customer_read_store(
            user=user,
            meter=meter,
            at=at,
            import_kwh=import_kwh,
            export_kwh=export_kwh,
            channel=channel,
        )
    except (NotFound, ServiceUnavailable):
        raise
    except ApplicationError as exc:
        _refusal_publish(meter=meter, at=at, import_kwh=import_kwh, refusal=exc)
        raise


@transaction.atomic
def _refusal_publish(*, meter: Meter, at, import_kwh, refusal: ApplicationError) -> None:
    event_publish(
        EventKind.READ_REFUSED,
        account=meter.account,
        payload={
            "meter_id": meter.meter_id,
            "at": at.isoformat() if isinstance(at, datetime) else str(at)[:64],
            "import_kwh": str(import_kwh)[:40],
            "field": refusal.field or "",
            "reason": refusal.message,
            "message": f"Your meter read for {meter.meter_id} was not stored: "
            f"{refusal.message.partition(': ')[2] or refusal.message}",
        },
    )


@transaction.atomic
def _customer_read_store(
    *,
    user: User,
    meter: Meter,
    at: datetime | str,
    import_kwh: Decimal | int | str,
    export_kwh: Decimal | int | str | None,
    channel: str,
) -> SubmittedRead:
    _meter_check(user=user, meter=meter)
    item = ReadingIn(
        meter_id=meter.meter_id,
        at=at,
        import_kwh=import_kwh,
        export_kwh=export_kwh,
        quality=ReadingQuality.CUSTOMER,
    )
    [result] = reading_ingest_bulk(items=[item], source=ReadingSource.CUSTOMER, user=user)
    if result.status == REJECTED and _holds_estimate(meter, result):
        reading_estimate_replace(
            meter=meter,
            at=result.at,
            import_kwh=import_kwh,
            export_kwh=export_kwh,
            source=ReadingSource.CUSTOMER,
            quality=ReadingQuality.CUSTOMER,
            user=user,
        )
    elif result.status == REJECTED:
        raise _refusal(result, meter, result.at)
    reading = Reading.objects.get(meter=meter, at=result.at)
    if result.status == DUPLICATE:
        existing = CustomerRead.objects.filter(meter=meter, at=reading.at).first()
        if existing is not None:
            return SubmittedRead(reading=reading, customer_read=existing, created=False)
        raise Conflict(
            "at: a reading with these values is already stored for that time (not sent by "
            "you); nothing to add.",
            field="at",
        )
    implausible, note = read_plausibility(meter=meter, reading=reading)
    customer_read = CustomerRead.objects.create(
        meter=meter,
        at=reading.at,
        import_kwh=reading.import_kwh,
        export_kwh=reading.export_kwh,
        channel=channel,
        submitted_by=user,
        submitted_at=timezone.now(),
        implausible=implausible,
        plausibility_note=note,
    )
    return SubmittedRead(reading=reading, customer_read=customer_read, created=True)


@transaction.atomic
def customer_read_review(*, customer_read: CustomerRead, user: User) -> CustomerRead:
    """Staff looked at a flagged read and let it stand (to change it, correct the reading)."""
    if customer_read.reviewed_at is None:
        customer_read.reviewed_at = timezone.now()
        customer_read.reviewed_by = user
        customer_read.save(update_fields=["reviewed_at", "reviewed_by"])
    return customer_read
