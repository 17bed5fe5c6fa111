"""A bill in memory while it is composed: its lines, meter reads and notes, and the chunk's
tariffs to price each day by. Nothing here touches the bill tables."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from meters.timeutils import day_bounds

from ..models import (
    HalfHourRate,
    LineKind,
    RateDirection,
    Tariff,
    TariffAssignment,
    TariffRate,
)
from .money import ZERO, money


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


class ChunkTariffs:
    """The chunk's assignments and tariffs, to answer "which tariff on this day"."""

    def __init__(self, account_ids: list[int], first: date, last: date):
        self.first, self.last = first, last
        self._feed: dict[str, dict[tuple[int, datetime], Decimal]] = {}
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
        """Accounts whose month needs half-hourly data: a band with a window, or a tariff whose
        import is priced per half-hour."""
        return {
            account_id
            for account_id, items in self.by_account.items()
            if any(
                len(self.rates[tariff.pk]) > 1 or tariff.import_dynamic for _, _, tariff in items
            )
        }

    def import_dynamic_on(self, account_id: int, day: date) -> bool:
        tariff = self.tariff_on(account_id, day)
        return tariff is not None and tariff.import_dynamic

    def export_dynamic_on(self, account_id: int, day: date) -> bool:
        tariff = self.tariff_on(account_id, day)
        return tariff is not None and tariff.export_dynamic

    def feed_rates(self, direction: str) -> dict[tuple[int, datetime], Decimal]:
        """{(tariff pk, UTC start): value} of the month's half-hourly rates of the chunk's
        tariffs that are dynamic in ``direction`` (read once per chunk and direction)."""
        if direction not in self._feed:
            flag = "import_dynamic" if direction == RateDirection.IMPORT else "export_dynamic"
            dynamic = [pk for pk, tariff in self.tariffs.items() if getattr(tariff, flag)]
            tz = timezone.get_default_timezone()
            # A day either side: meters in other time zones have other local months.
            start = day_bounds(self.first - timedelta(days=1), tz)[0]
            end = day_bounds(self.last + timedelta(days=1), tz)[1]
            rows = HalfHourRate.objects.filter(
                tariff_id__in=dynamic,
                direction=direction,
                valid_from__gte=start,
                valid_from__lt=end,
            ).values_list("tariff_id", "valid_from", "value_exc_vat")
            self._feed[direction] = {(pk, at): value for pk, at, value in rows} if dynamic else {}
        return self._feed[direction]
