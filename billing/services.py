"""Every write to tariffs, assignments and bills.

Bill generation works on chunks of accounts: usage is read set-based for the whole chunk
(billing.usage), each account's bill is composed in memory, and the chunk's bills, lines and
reads are written in bulk in one transaction, under row locks on the chunk's accounts so two runs
of the same month cannot both create a bill.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import CustomerAccount, User
from config.exceptions import ApplicationError, Conflict
from meters.timeutils import day_bounds

from . import usage as usage_reads
from .charging_sessions import Session, sessions_for_accounts
from .models import (
    Bill,
    BillLine,
    BillMeterRead,
    BillRun,
    BillState,
    LineKind,
    Tariff,
    TariffAssignment,
    TariffRate,
)

log = logging.getLogger(__name__)

PENNY = Decimal("0.01")
KWH = Decimal("0.0001")
ZERO = Decimal(0)
CHUNK_ACCOUNTS = 2000


def money(value: Decimal) -> Decimal:
    """Half-up to the minor unit, as every line is rounded."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def month_of(value: str | date) -> date:
    """``YYYY-MM`` (or any day of the month) -> the month's first day."""
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise ApplicationError(f"month: {value!r} is not YYYY-MM.", field="month") from exc


def _ended_month(value: str | date) -> date:
    first = month_of(value)
    if first >= timezone.localdate().replace(day=1):
        raise ApplicationError(
            f"month: {first:%Y-%m} has not ended yet; bill a past month.", field="month"
        )
    return first


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


# --- Tariffs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateIn:
    band: str
    unit_rate: Decimal
    kind: str = "standard"
    starts_at: object = None
    ends_at: object = None
    days: str = "1234567"
    priority: int = 0


def tariff_rates_check(rates: list[RateIn]) -> None:
    """The rules a tariff's bands keep together, whichever door they came in by (API, admin)."""
    defaults = [rate for rate in rates if rate.starts_at is None and rate.ends_at is None]
    if len(defaults) != 1:
        raise ApplicationError(
            "rates: a tariff needs exactly one default band (no times), which prices every "
            "half-hour outside its windows.",
            field="rates",
        )
    for rate in rates:
        if (rate.starts_at is None) != (rate.ends_at is None):
            raise ApplicationError(
                "rates: a window needs both starts_at and ends_at.", field="rates"
            )
        if rate.starts_at is not None and rate.starts_at == rate.ends_at:
            raise ApplicationError(
                "rates: a window cannot start and end at the same time.", field="rates"
            )


@transaction.atomic
def tariff_create(*, rates: list[RateIn], **fields) -> Tariff:
    """A tariff and its bands. Exactly one band has no times (the default)."""
    tariff_rates_check(rates)
    tariff = Tariff(**fields)
    tariff.full_clean()
    tariff.save()
    for rate in rates:
        row = TariffRate(tariff=tariff, **rate.__dict__)
        row.full_clean()
        row.save()
    return tariff


@transaction.atomic
def tariff_update(*, tariff: Tariff, rates: list[RateIn] | None = None, **fields) -> Tariff:
    """Change a tariff. Prices already on issued bills are copied onto their lines, so they do
    not change; drafts pick up the new prices when regenerated."""
    for name, value in fields.items():
        setattr(tariff, name, value)
    tariff.full_clean()
    tariff.save()
    if rates is not None:
        tariff_rates_check(rates)
        tariff.rates.all().delete()
        for rate in rates:
            row = TariffRate(tariff=tariff, **rate.__dict__)
            row.full_clean()
            row.save()
    return tariff


@transaction.atomic
def tariff_assign(
    *, account: CustomerAccount, tariff: Tariff, starts_on: date, ends_on: date | None = None
) -> TariffAssignment:
    """Put ``account`` on ``tariff`` from ``starts_on`` to ``ends_on`` (inclusive; open-ended
    when None). An open-ended assignment that began earlier is ended the day before, so a
    tariff change is one call; any other overlap is refused (409)."""
    tariff_assignment_dates_check(tariff=tariff, starts_on=starts_on, ends_on=ends_on)
    CustomerAccount.objects.select_for_update().get(pk=account.pk)
    existing = TariffAssignment.objects.filter(account=account)
    open_before = existing.filter(ends_on__isnull=True, starts_on__lt=starts_on).first()
    if open_before is not None:
        open_before.ends_on = starts_on - timedelta(days=1)
        open_before.save(update_fields=["ends_on"])
    tariff_assignment_overlap_check(account=account, starts_on=starts_on, ends_on=ends_on)
    return TariffAssignment.objects.create(
        account=account, tariff=tariff, starts_on=starts_on, ends_on=ends_on
    )


def tariff_assignment_dates_check(*, tariff: Tariff, starts_on: date, ends_on: date | None) -> None:
    """An assignment runs forwards and lies inside its tariff's validity."""
    if ends_on is not None and ends_on < starts_on:
        raise ApplicationError("ends_on: must not be before starts_on.", field="ends_on")
    if starts_on < tariff.valid_from or (
        tariff.valid_to is not None and (ends_on is None or ends_on > tariff.valid_to)
    ):
        raise ApplicationError(
            f"starts_on: {tariff.name} is valid from {tariff.valid_from}"
            + (f" to {tariff.valid_to}" if tariff.valid_to else "")
            + "; the assignment must lie inside that.",
            field="starts_on",
        )


def tariff_assignment_overlap_check(
    *,
    account: CustomerAccount,
    starts_on: date,
    ends_on: date | None,
    excluding: TariffAssignment | None = None,
) -> None:
    """An account is on one tariff a day: refuse (409) an assignment that overlaps another of
    the account's (``excluding`` the one being changed)."""
    existing = TariffAssignment.objects.filter(account=account)
    if excluding is not None and excluding.pk is not None:
        existing = existing.exclude(pk=excluding.pk)
    overlap = existing.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on))
    if ends_on is not None:
        overlap = overlap.filter(starts_on__lte=ends_on)
    clash = overlap.first()
    if clash is not None:
        raise Conflict(
            f"starts_on: the account is already on {clash.tariff.name} from {clash.starts_on}"
            + (f" to {clash.ends_on}" if clash.ends_on else "")
            + ".",
            field="starts_on",
        )


# --- Composing a bill --------------------------------------------------------------------------


@dataclass
class LineDraft:
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tariff: Tariff | None = None
    band: str = ""
    charging_transaction_id: int | None = None
    amount: Decimal = ZERO

    def __post_init__(self) -> None:
        """Each line is rounded half-up on its own. An export credit keeps the tariff's rate as
        its unit price and is the negative of its rounded value (half-up away from zero), so a
        credit and a charge of the same kWh and rate are the same number of pennies."""
        if self.kind == LineKind.EXPORT:
            self.amount = -money(self.quantity * self.unit_price)
        elif self.kind != LineKind.VAT:
            self.amount = money(self.quantity * self.unit_price)


@dataclass
class ReadDraft:
    meter_id: int
    meter_serial: str
    opening_at: datetime | None
    opening_kwh: Decimal | None
    opening_quality: str
    closing_at: datetime | None
    closing_kwh: Decimal | None
    closing_quality: str
    consumption_kwh: Decimal
    register_resets: int
    note: str


@dataclass
class BillDraft:
    account_id: int
    lines: list[LineDraft] = field(default_factory=list)
    reads: list["ReadDraft"] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    needs_review: bool = False
    consumption_kwh: Decimal = ZERO
    daily: dict[date, Decimal] = field(default_factory=dict)

    def flag(self, reason: str) -> None:
        self.needs_review = True
        self.notes.append(reason)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.kind != LineKind.VAT), ZERO)

    @property
    def vat(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.kind == LineKind.VAT), ZERO)


class _Tariffs:
    """The chunk's assignments and tariffs, to answer "which tariff on this day"."""

    def __init__(self, account_ids: list[int], first: date, last: date):
        rows = (
            TariffAssignment.objects.filter(account_id__in=account_ids, starts_on__lte=last)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=first))
            .order_by("starts_on")
            .values_list("account_id", "tariff_id", "starts_on", "ends_on")
        )
        rows = list(rows)
        tariffs = Tariff.objects.filter(pk__in={row[1] for row in rows}).prefetch_related("rates")
        self.tariffs = {tariff.pk: tariff for tariff in tariffs}
        self.rates = {pk: list(tariff.rates.all()) for pk, tariff in self.tariffs.items()}
        self.default_rate = {
            pk: next((rate for rate in rates if rate.starts_at is None), None)
            for pk, rates in self.rates.items()
        }
        self.by_account: dict[int, list[tuple[date, date | None, Tariff]]] = defaultdict(list)
        for account_id, tariff_id, starts_on, ends_on in rows:
            self.by_account[account_id].append((starts_on, ends_on, self.tariffs[tariff_id]))

    def tariff_on(self, account_id: int, day: date) -> Tariff | None:
        for starts_on, ends_on, tariff in self.by_account.get(account_id, ()):
            if starts_on <= day and (ends_on is None or day <= ends_on):
                return tariff
        return None

    def tariffs_by_day(self, account_id: int, days: list[date]) -> dict[date, Tariff | None]:
        assignments = self.by_account.get(account_id, ())
        if len(assignments) == 1:
            starts_on, ends_on, tariff = assignments[0]
            if starts_on <= days[0] and (ends_on is None or ends_on >= days[-1]):
                return dict.fromkeys(days, tariff)
        return {day: self.tariff_on(account_id, day) for day in days}

    def rates_on(self, account_id: int, day: date) -> list[TariffRate] | None:
        tariff = self.tariff_on(account_id, day)
        return None if tariff is None else self.rates[tariff.pk]

    def time_of_use_accounts(self) -> set[int]:
        return {
            account_id
            for account_id, items in self.by_account.items()
            if any(len(self.rates[tariff.pk]) > 1 for _, _, tariff in items)
        }


def _fmt_kwh(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _compose(
    *,
    account_id: int,
    days: list[date],
    tariffs: _Tariffs,
    meter_usages: list[usage_reads.MeterUsage],
    sessions: list[Session],
) -> BillDraft:
    draft = BillDraft(account_id=account_id)
    day_tariff = tariffs.tariffs_by_day(account_id, days)
    untariffed = [day for day, tariff in day_tariff.items() if tariff is None]
    if len(untariffed) == len(days):
        draft.flag("No tariff is assigned to the account for this month.")
    elif untariffed:
        draft.flag(f"No tariff on {len(untariffed)} day(s) from {untariffed[0]}: not charged.")

    # Days of each tariff, in the order tariffs took effect; energy per (tariff, band).
    days_by_tariff: dict[int, list[date]] = {}
    tariff_by_pk: dict[int, Tariff] = {}
    for day, tariff in day_tariff.items():
        if tariff is not None:
            days_by_tariff.setdefault(tariff.pk, []).append(day)
            tariff_by_pk[tariff.pk] = tariff
    tariff_pk_on = {day: pk for pk, pk_days in days_by_tariff.items() for day in pk_days}
    energy: dict[tuple[int, int | None], Decimal] = defaultdict(lambda: ZERO)
    exported: dict[int, Decimal] = defaultdict(lambda: ZERO)
    if not meter_usages:
        draft.flag("The account has no meters: standing charge only.")
    for usage in meter_usages:
        if not usage.has_readings:
            draft.flag(f"No readings from meter {usage.serial} this month: standing charge only.")
        consumption = usage.consumption_kwh.quantize(KWH)
        draft.consumption_kwh += consumption
        notes = [text for text in (usage.opening.note, usage.closing.note) if text]
        if usage.resets:
            notes.append(f"Register reset {usage.resets} time(s) in the period.")
        draft.notes.extend(f"{usage.serial}: {text}" for text in notes)
        draft.reads.append(
            ReadDraft(
                meter_id=usage.meter_pk,
                meter_serial=usage.serial,
                opening_at=usage.opening.at,
                opening_kwh=usage.opening.kwh,
                opening_quality=usage.opening.quality,
                closing_at=usage.closing.at,
                closing_kwh=usage.closing.kwh,
                closing_quality=usage.closing.quality,
                consumption_kwh=consumption,
                register_resets=usage.resets,
                note=" ".join(notes)[:300],
            )
        )
        daily = draft.daily
        for (day, band), kwh in usage.energy.items():
            daily[day] = daily.get(day, ZERO) + kwh
            tariff_pk = tariff_pk_on.get(day)
            if tariff_pk is None:
                continue
            if band is None:
                band = tariffs.default_rate[tariff_pk].pk
            energy[(tariff_pk, band)] += kwh
        for day, kwh in usage.export.items():
            tariff_pk = tariff_pk_on.get(day)
            if tariff_pk is not None:
                exported[tariff_pk] += kwh

    for tariff_pk, tariff_days in days_by_tariff.items():
        tariff = tariff_by_pk[tariff_pk]
        span = f"{tariff_days[0]:%d %b}-{tariff_days[-1]:%d %b}"
        for rate in sorted(tariffs.rates[tariff_pk], key=lambda r: (r.starts_at is None, r.band)):
            kwh = energy.get((tariff_pk, rate.pk))
            if kwh is None:
                continue
            quantity = kwh.quantize(KWH)
            label = (
                tariff.name if len(tariffs.rates[tariff_pk]) == 1 else f"{tariff.name} {rate.band}"
            )
            draft.lines.append(
                LineDraft(
                    kind=LineKind.ENERGY,
                    description=f"{label} energy, {span}: {_fmt_kwh(quantity)} kWh",
                    quantity=quantity,
                    unit="kWh",
                    unit_price=rate.unit_rate,
                    tariff=tariff,
                    band=rate.band,
                )
            )
    for tariff_pk, tariff_days in days_by_tariff.items():
        tariff = tariff_by_pk[tariff_pk]
        count = len(tariff_days)
        draft.lines.append(
            LineDraft(
                kind=LineKind.STANDING,
                description=f"{tariff.name} standing charge, {count} days",
                quantity=Decimal(count),
                unit="day",
                unit_price=tariff.standing_charge_per_day,
                tariff=tariff,
            )
        )
    for session in sessions:
        _price_session(draft, session, tariffs)
    for tariff_pk, tariff_days in days_by_tariff.items():
        _credit_export(draft, tariff_by_pk[tariff_pk], tariff_days, exported.get(tariff_pk, ZERO))

    # Export credits are outside VAT (see _credit_export): VAT is on the charges only.
    vat_groups: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in draft.lines:
        if line.tariff is not None and line.kind != LineKind.EXPORT:
            vat_groups[line.tariff.vat_rate] += line.amount
    for rate, net in sorted(vat_groups.items()):
        vat = LineDraft(
            kind=LineKind.VAT,
            description=f"VAT at {(rate * 100).normalize():f}% on {net}",
            quantity=net,
            unit="GBP",
            unit_price=rate,
        )
        vat.amount = money(net * rate)
        draft.lines.append(vat)
    return draft


def _credit_export(draft: BillDraft, tariff: Tariff, days: list[date], kwh: Decimal) -> None:
    """An export credit line: the kWh exported on the tariff's days of the month times its
    ``export_rate``, as a negative amount. None when the tariff has no (or a zero) export rate or
    nothing was exported; a meter without an export register exports nothing.

    The credit is outside VAT: payments to a domestic generator for exported electricity (the
    Smart Export Guarantee) are not a taxable supply, so VAT is computed on the charges alone and
    the credit is taken off after it. The bill's subtotal is the sum of its non-VAT lines, the
    credit included, so ``total = subtotal + vat`` still holds; a total below zero is a credit
    balance owed to the customer (``Bill.is_credit``)."""
    quantity = kwh.quantize(KWH)
    if not tariff.export_rate or quantity <= 0:
        return
    draft.lines.append(
        LineDraft(
            kind=LineKind.EXPORT,
            description=(
                f"{tariff.name} export credit, {days[0]:%d %b}-{days[-1]:%d %b}: "
                f"{_fmt_kwh(quantity)} kWh (no VAT)"
            ),
            quantity=quantity,
            unit="kWh",
            unit_price=tariff.export_rate,
            tariff=tariff,
        )
    )


def _price_session(draft: BillDraft, session: Session, tariffs: _Tariffs) -> None:
    day = timezone.localtime(session.stopped_at).date()
    tariff = tariffs.tariff_on(draft.account_id, day)
    label = f"Charging session #{session.transaction_id} on {session.charger}, {day:%d %b}"
    if tariff is None or tariff.charging_rate_per_kwh is None:
        draft.flag(f"{label}: no charging price on the tariff that day; not charged.")
        return
    draft.lines.append(
        LineDraft(
            kind=LineKind.CHARGING,
            description=f"{label}: {_fmt_kwh(session.energy_kwh)} kWh",
            quantity=session.energy_kwh,
            unit="kWh",
            unit_price=tariff.charging_rate_per_kwh,
            tariff=tariff,
            charging_transaction_id=session.transaction_id,
        )
    )
    if tariff.charging_fee_per_session:
        draft.lines.append(
            LineDraft(
                kind=LineKind.CHARGING,
                description=f"{label}: session fee",
                quantity=Decimal(1),
                unit="session",
                unit_price=tariff.charging_fee_per_session,
                tariff=tariff,
                charging_transaction_id=session.transaction_id,
            )
        )
    if tariff.charging_idle_fee_per_minute and session.idle_minutes:
        draft.lines.append(
            LineDraft(
                kind=LineKind.CHARGING,
                description=f"{label}: idle {session.idle_minutes} min",
                quantity=Decimal(session.idle_minutes),
                unit="minute",
                unit_price=tariff.charging_idle_fee_per_minute,
                tariff=tariff,
                charging_transaction_id=session.transaction_id,
            )
        )


# --- Writing bills -----------------------------------------------------------------------------


CREATED = "created"
REGENERATED = "regenerated"
UNCHANGED = "unchanged"


@dataclass
class RunSummary:
    accounts: int = 0
    created: int = 0
    regenerated: int = 0
    unchanged: int = 0
    issued: int = 0
    flagged: int = 0
    bills: list[tuple[Bill, str]] = field(default_factory=list)

    def add(self, other: "RunSummary") -> None:
        for name in ("accounts", "created", "regenerated", "unchanged", "issued", "flagged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.bills.extend(other.bills)


def _fill(bill: Bill, draft: BillDraft, days: list[tuple[date, str]]) -> None:
    bill.subtotal = draft.subtotal
    bill.vat = draft.vat
    bill.total = bill.subtotal + bill.vat
    bill.consumption_kwh = draft.consumption_kwh
    bill.needs_review = draft.needs_review
    bill.notes = "\n".join(dict.fromkeys(draft.notes))
    daily = draft.daily
    bill.daily_usage = [
        [iso, str(daily[day].quantize(KWH)) if day in daily else "0.0000"] for day, iso in days
    ]


_LINE_COLUMNS = [
    "bill_id",
    "position",
    "kind",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "tariff_id",
    "band",
    "charging_transaction_id",
]
_READ_COLUMNS = [
    "bill_id",
    "meter_id",
    "meter_serial",
    "opening_at",
    "opening_kwh",
    "opening_quality",
    "closing_at",
    "closing_kwh",
    "closing_quality",
    "consumption_kwh",
    "register_resets",
    "note",
]


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """COPY on PostgreSQL (a month's lines are hundreds of thousands of rows), bulk_create
    elsewhere."""
    if not rows:
        return
    if settings.DATABASE_IS_POSTGRES:
        with connection.cursor() as cursor:
            statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
    )


def _create_bills(bills: list[Bill]) -> None:
    """Ids from the table's sequence, then COPY on PostgreSQL; bulk_create elsewhere."""
    if not bills:
        return
    if not settings.DATABASE_IS_POSTGRES:
        Bill.objects.bulk_create(bills, batch_size=1000)
        return
    table = Bill._meta.db_table
    fields = Bill._meta.concrete_fields
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(bills)],
        )
        for bill, (pk,) in zip(bills, cursor.fetchall(), strict=True):
            bill.pk = pk
            bill.created_at = bill.updated_at = now
            bill._state.adding = False
        columns = ", ".join(field.column for field in fields)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for bill in bills:
                copy.write_row(
                    [
                        json.dumps(getattr(bill, field.attname))
                        if isinstance(field, models.JSONField)
                        else getattr(bill, field.attname)
                        for field in fields
                    ]
                )


def _write_children(pairs: list[tuple[Bill, BillDraft]]) -> None:
    lines, reads = [], []
    for bill, draft in pairs:
        for position, line in enumerate(draft.lines, start=1):
            lines.append(
                (
                    bill.pk,
                    position,
                    line.kind,
                    line.description[:200],
                    line.quantity,
                    line.unit,
                    line.unit_price,
                    line.amount,
                    line.tariff.pk if line.tariff else None,
                    line.band,
                    line.charging_transaction_id,
                )
            )
        for read in draft.reads:
            reads.append(
                (
                    bill.pk,
                    read.meter_id,
                    read.meter_serial,
                    read.opening_at,
                    read.opening_kwh,
                    read.opening_quality,
                    read.closing_at,
                    read.closing_kwh,
                    read.closing_quality,
                    read.consumption_kwh,
                    read.register_resets,
                    read.note,
                )
            )
    _insert(BillLine, _LINE_COLUMNS, lines)
    _insert(BillMeterRead, _READ_COLUMNS, reads)


@transaction.atomic
def _generate_chunk(
    *, account_ids: list[int], first: date, issue: bool, correcting: Bill | None = None
) -> RunSummary:
    summary = RunSummary(accounts=len(account_ids))
    accounts = dict(
        CustomerAccount.objects.select_for_update()
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk", "account_number")
    )
    existing = Bill.objects.filter(account_id__in=accounts, month=first).defer(
        "daily_usage", "notes"
    )
    drafts: dict[int, Bill] = {}
    issued: dict[int, Bill] = {}
    latest_void: dict[int, Bill] = {}
    counts: dict[int, int] = defaultdict(int)
    for bill in existing.order_by("created_at", "pk"):
        counts[bill.account_id] += 1
        if bill.state == BillState.DRAFT:
            drafts[bill.account_id] = bill
        elif bill.state == BillState.ISSUED:
            issued[bill.account_id] = bill
        else:
            latest_void[bill.account_id] = bill
    to_build = [pk for pk in accounts if pk in drafts or pk not in issued or correcting is not None]
    for pk in accounts:
        if pk not in to_build:
            summary.unchanged += 1
            summary.bills.append((issued[pk], UNCHANGED))
    if not to_build:
        return summary

    days = usage_reads.month_days(first)
    day_isos = [(day, day.isoformat()) for day in days]
    tariffs = _Tariffs(to_build, days[0], days[-1])
    meter_usages = usage_reads.meter_usage_for_accounts(
        account_ids=to_build,
        first=first,
        rates_for_day=tariffs.rates_on,
        time_of_use_accounts=tariffs.time_of_use_accounts(),
    )
    start, end = (
        day_bounds(days[0], timezone.get_default_timezone())[0],
        day_bounds(days[-1], timezone.get_default_timezone())[1],
    )
    sessions = sessions_for_accounts(account_ids=to_build, start=start, end=end)

    now = timezone.now()
    new_pairs: list[tuple[Bill, BillDraft]] = []
    regenerated: list[tuple[Bill, BillDraft]] = []
    for pk in to_build:
        draft = _compose(
            account_id=pk,
            days=days,
            tariffs=tariffs,
            meter_usages=meter_usages.get(pk, []),
            sessions=sessions.get(pk, []),
        )
        bill = drafts.get(pk)
        if bill is None:
            corrects = correcting if correcting is not None else latest_void.get(pk)
            bill = Bill(
                number=f"{accounts[pk]}-{first:%Y%m}-{counts[pk] + 1}",
                account_id=pk,
                month=first,
                period_start=days[0],
                period_end=days[-1],
                corrects=corrects,
            )
            new_pairs.append((bill, draft))
        else:
            if correcting is not None:
                bill.corrects = correcting
            regenerated.append((bill, draft))
        _fill(bill, draft, day_isos)
        if draft.needs_review:
            summary.flagged += 1
        # A new bill is issued as it is written unless it must first void an issued one.
        if issue and not draft.needs_review and bill.pk is None and pk not in issued:
            bill.state = BillState.ISSUED
            bill.issued_at = now

    if regenerated:
        ids = [bill.pk for bill, _ in regenerated]
        BillLine.objects.filter(bill_id__in=ids).delete()
        BillMeterRead.objects.filter(bill_id__in=ids).delete()
        Bill.objects.bulk_update(
            [bill for bill, _ in regenerated],
            [
                "subtotal",
                "vat",
                "total",
                "consumption_kwh",
                "needs_review",
                "notes",
                "daily_usage",
                "corrects",
                "updated_at",
            ],
            batch_size=1000,
        )
    if new_pairs:
        _create_bills([bill for bill, _ in new_pairs])
    _write_children(new_pairs + regenerated)
    for bill, _ in new_pairs:
        summary.created += 1
        summary.issued += bill.state == BillState.ISSUED
        summary.bills.append((bill, CREATED))
    for bill, draft in regenerated:
        summary.regenerated += 1
        if issue and not draft.needs_review:
            bill_issue(bill=bill)
            summary.issued += 1
        summary.bills.append((bill, REGENERATED))
    return summary


def bill_generate_for_month(
    *, account: CustomerAccount, month: date | str, issue: bool = False
) -> tuple[Bill, str]:
    """The account's bill for ``month``: created, or its draft regenerated; an issued bill is
    returned unchanged (it is immutable; correct it with ``bill_correct``). With ``issue`` a
    bill that needs no review is issued. Returns (bill, "created"|"regenerated"|"unchanged")."""
    summary = _generate_chunk(account_ids=[account.pk], first=_ended_month(month), issue=issue)
    bill, action = summary.bills[0]
    return bill, action


def bills_generate(
    *,
    month: date | str,
    accounts: Iterable[CustomerAccount] | None = None,
    issue: bool = True,
    trigger: str = "command",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[BillRun, RunSummary]:
    """Bills of ``month`` for every account (or ``accounts``), in chunks; idempotent: issued
    bills stay as they are, drafts are regenerated, missing bills are created (and issued when
    ``issue`` and they need no review). ``progress(done, total)`` after each chunk."""
    first = _ended_month(month)
    if accounts is None:
        ids = list(CustomerAccount.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted({account.pk for account in accounts})
    run = BillRun.objects.create(
        month=first, trigger=trigger, started_at=timezone.now(), accounts=len(ids)
    )
    total = RunSummary()
    for offset in range(0, len(ids), CHUNK_ACCOUNTS):
        chunk = ids[offset : offset + CHUNK_ACCOUNTS]
        result = _generate_chunk(account_ids=chunk, first=first, issue=issue)
        result.bills = []
        total.add(result)
        if progress is not None:
            progress(min(offset + CHUNK_ACCOUNTS, len(ids)), len(ids))
    total.accounts = len(ids)
    for name in ("created", "regenerated", "unchanged", "issued", "flagged"):
        setattr(run, name, getattr(total, name))
    run.finished_at = timezone.now()
    run.save()
    log.info(
        "bills %s: %s accounts, %s created, %s regenerated, %s unchanged, %s issued, %s flagged",
        f"{first:%Y-%m}",
        total.accounts,
        total.created,
        total.regenerated,
        total.unchanged,
        total.issued,
        total.flagged,
    )
    return run, total


# --- States ------------------------------------------------------------------------------------


@transaction.atomic
def bill_issue(*, bill: Bill) -> Bill:
    """draft -> issued. Issuing a correction voids the bill it corrects in the same
    transaction."""
    bill = Bill.objects.select_for_update().get(pk=bill.pk)
    if bill.state != BillState.DRAFT:
        raise Conflict(f"Bill {bill.number} is {bill.state}; only a draft can be issued.")
    if bill.corrects_id is not None:
        old = Bill.objects.select_for_update().get(pk=bill.corrects_id)
        if old.state == BillState.ISSUED:
            old.state = BillState.VOID
            old.voided_at = timezone.now()
            old.void_reason = f"Replaced by {bill.number}."
            old.save(update_fields=["state", "voided_at", "void_reason", "updated_at"])
    bill.state = BillState.ISSUED
    bill.issued_at = timezone.now()
    bill.save(update_fields=["state", "issued_at", "updated_at"])
    return bill


@transaction.atomic
def bill_void(*, bill: Bill, reason: str, by: User | None = None) -> Bill:
    """Void a draft or an issued bill (with a reason). Generating the month again makes a new
    bill that corrects it."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason: say why the bill is void.", field="reason")
    bill = Bill.objects.select_for_update().get(pk=bill.pk)
    if bill.state == BillState.VOID:
        raise Conflict(f"Bill {bill.number} is already void.")
    bill.state = BillState.VOID
    bill.voided_at = timezone.now()
    bill.void_reason = reason[:200]
    bill.voided_by = by
    bill.save(update_fields=["state", "voided_at", "void_reason", "voided_by", "updated_at"])
    return bill


def bill_regenerate_draft(*, bill: Bill) -> Bill:
    """Recompute a draft from the current readings and tariffs."""
    if bill.state != BillState.DRAFT:
        raise Conflict(f"Bill {bill.number} is {bill.state}; only a draft can be regenerated.")
    regenerated, _ = bill_generate_for_month(account=bill.account, month=bill.month)
    return regenerated


def bill_correct(*, bill: Bill) -> Bill:
    """A draft correction of an issued bill, recomputed from the current data and linked to it.
    The issued bill stays valid until the correction is issued (bill_issue voids it then)."""
    if bill.state != BillState.ISSUED:
        raise Conflict(f"Bill {bill.number} is {bill.state}; only an issued bill is corrected.")
    summary = _generate_chunk(
        account_ids=[bill.account_id], first=bill.month, issue=False, correcting=bill
    )
    return summary.bills[0][0]
