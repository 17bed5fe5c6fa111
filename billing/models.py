"""Tariffs, their assignment to customer accounts, and monthly bills.

Money is ``Decimal`` in the tariff's currency (pounds for GBP): unit prices keep five decimal
places (24.567p/kWh is 0.24567), amounts are rounded half-up to the penny per line, and a bill's
subtotal, VAT and total are sums of its lines. Months and days are local (settings.TIME_ZONE).
An export credit line has a negative amount and is outside VAT, so a bill's total may be
negative (a credit balance owed to the customer).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Round

from accounts.models import CustomerAccount

PRICE_DIGITS = 12
PRICE_PLACES = 5
MONEY_DIGITS = 12
MONEY_PLACES = 2
ALL_DAYS = "1234567"
# The sane range of a half-hour's unit rate per kWh: prices go negative when the grid has too
# much wind, and spike in a scarcity event, but a value outside this is a feed's mistake.
HALF_HOUR_RATE_MIN = Decimal("-1.00")
HALF_HOUR_RATE_MAX = Decimal("10.00")


class Tariff(models.Model):
    """A tariff prices import by its bands (flat or time-of-use, ``TariffRate``) unless
    ``import_dynamic``, when each half-hour has its own rate (``HalfHourRate``, a price feed);
    export likewise by ``export_rate`` unless ``export_dynamic``."""

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(
        max_length=50,
        unique=True,
        blank=True,
        help_text="Short name in URLs (/api/v1/tariffs/<code>/unit-rates); made from the name "
        "when left empty.",
    )
    is_public = models.BooleanField(
        default=False, help_text="Its unit rates are readable by any logged-in user."
    )
    import_dynamic = models.BooleanField(
        default=False, help_text="Import is priced per half-hour from the price feed."
    )
    export_dynamic = models.BooleanField(
        default=False, help_text="Export is paid per half-hour from the price feed."
    )
    currency = models.CharField(max_length=3, default="GBP")
    vat_rate = models.DecimalField(
        max_digits=5, decimal_places=4, default="0.0500", help_text="0.05 is 5% (domestic)."
    )
    standing_charge_per_day = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES
    )
    export_rate = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_PLACES,
        null=True,
        blank=True,
        help_text="Paid per exported kWh: credited on the monthly bill, outside VAT.",
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Last day (inclusive).")
    charging_rate_per_kwh = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_PLACES,
        null=True,
        blank=True,
        help_text="Price of a kWh delivered in an EV charging session.",
    )
    charging_fee_per_session = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    charging_idle_fee_per_minute = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_PLACES,
        null=True,
        blank=True,
        help_text="Per minute a session stays plugged in after its last energy was delivered.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="tariff_valid_to_after_from",
            ),
            models.CheckConstraint(
                condition=Q(vat_rate__gte=0) & Q(vat_rate__lt=1), name="tariff_vat_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(standing_charge_per_day__gte=0), name="tariff_standing_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(export_rate__isnull=True) | Q(export_rate__gte=0),
                name="tariff_export_rate_not_negative",
                violation_error_message="export_rate: must not be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WindowKind(models.TextChoices):
    """What a band means to a battery deciding when to charge."""

    CHEAP = "cheap", "Cheap"
    STANDARD = "standard", "Standard"
    PEAK = "peak", "Peak"


class TariffRate(models.Model):
    """A unit-rate band. With no times it is the tariff's default band (a flat tariff has only
    that); with ``starts_at``/``ends_at`` (local wall-clock, end exclusive, may wrap past
    midnight) it applies to the half-hours that begin inside the window on the listed ISO days
    of the week (1 = Monday), judged by the local day the half-hour begins on."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="rates")
    band = models.CharField(max_length=40, help_text="Shown on the bill, e.g. Day, Night.")
    kind = models.CharField(max_length=8, choices=WindowKind.choices, default=WindowKind.STANDARD)
    unit_rate = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    starts_at = models.TimeField(null=True, blank=True)
    ends_at = models.TimeField(null=True, blank=True)
    days = models.CharField(max_length=7, default=ALL_DAYS, help_text="ISO weekdays, 1-7.")
    priority = models.PositiveSmallIntegerField(
        default=0, help_text="Where windows overlap, the lowest priority wins."
    )

    class Meta:
        ordering = ["tariff", "starts_at", "priority", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True, ends_at__isnull=True)
                | Q(starts_at__isnull=False, ends_at__isnull=False),
                name="tariff_rate_window_complete",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | ~Q(starts_at=models.F("ends_at")),
                name="tariff_rate_window_not_empty",
            ),
            models.CheckConstraint(condition=Q(unit_rate__gte=0), name="tariff_rate_not_negative"),
            models.CheckConstraint(
                condition=Q(days__regex=r"^[1-7]{1,7}$"), name="tariff_rate_days_valid"
            ),
            models.UniqueConstraint(
                fields=["tariff"],
                condition=Q(starts_at__isnull=True),
                name="tariff_rate_one_default",
            ),
        ]

    def __str__(self) -> str:
        if self.starts_at is None:
            return f"{self.band}: {self.unit_rate}/kWh"
        return f"{self.band} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}: {self.unit_rate}/kWh"

    @property
    def is_default(self) -> bool:
        return self.starts_at is None


class TariffAssignment(models.Model):
    """The tariff an account is on from ``starts_on`` to ``ends_on`` (local days, inclusive;
    open-ended when empty). Assignments of one account never overlap (services.tariff_assign)."""

    account = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, related_name="tariff_assignments"
    )
    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="assignments")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="assignment_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["account", "starts_on"], name="assignment_unique_account_start"
            ),
        ]
        indexes = [models.Index(fields=["account", "starts_on", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.tariff} from {self.starts_on}"


class BillState(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    VOID = "void", "Void"


class Bill(models.Model):
    """One account's bill for one local calendar month. At most one draft and one issued bill
    per account and month (a correction is drafted while the bill it corrects is still issued;
    issuing it voids the old one). Issued bills never change: a correction is a new bill."""

    number = models.CharField(max_length=40, unique=True)
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="bills")
    month = models.DateField(help_text="First day of the billed month.")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Last day (inclusive).")
    state = models.CharField(max_length=6, choices=BillState.choices, default=BillState.DRAFT)
    currency = models.CharField(max_length=3, default="GBP")
    consumption_kwh = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    subtotal = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    vat = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    total = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    needs_review = models.BooleanField(default=False)
    notes = models.TextField(blank=True, help_text="Why the bill needs review; estimates made.")
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        help_text="The bill this one replaces.",
    )
    daily_usage = models.JSONField(
        default=list, blank=True, help_text="[[local day ISO, kWh], ...] for the invoice chart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month"],
                condition=Q(state="draft"),
                name="bill_one_draft_per_account_month",
            ),
            models.UniqueConstraint(
                fields=["account", "month"],
                condition=Q(state="issued"),
                name="bill_one_issued_per_account_month",
            ),
            # Rounded to the penny: SQLite stores a decimal with a fraction as a binary float,
            # where 130.26 + 6.51 is not 136.77 (on PostgreSQL's numeric the round changes nothing).
            models.CheckConstraint(
                condition=Q(total=Round(models.F("subtotal") + models.F("vat"), MONEY_PLACES)),
                name="bill_total_is_subtotal_plus_vat",
            ),
            models.CheckConstraint(
                condition=~Q(state="issued") | Q(issued_at__isnull=False),
                name="bill_issued_has_time",
            ),
        ]
        indexes = [models.Index(fields=["month", "state"])]

    def __str__(self) -> str:
        return self.number

    @property
    def is_issued(self) -> bool:
        return self.state == BillState.ISSUED

    @property
    def is_credit(self) -> bool:
        """The total is below zero: export credited beyond the charges, a credit balance owed
        to the customer. Totals are stored as they are (negative), not capped or carried."""
        return self.total < 0

    @property
    def difference(self):
        """What this correction adds to (positive, a debit) or takes off (a credit) the bill it
        replaces; None for a bill that corrects nothing."""
        if self.corrects is None:
            return None
        return self.total - self.corrects.total


class LineKind(models.TextChoices):
    ENERGY = "energy", "Energy"
    STANDING = "standing", "Standing charge"
    CHARGING = "charging", "EV charging"
    EXPORT = "export", "Export credit"
    VAT = "vat", "VAT"


class BillLine(models.Model):
    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=LineKind.choices)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    unit = models.CharField(max_length=12, help_text="kWh, day, session, minute or GBP.")
    unit_price = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    tariff = models.ForeignKey(Tariff, null=True, blank=True, on_delete=models.PROTECT)
    band = models.CharField(max_length=40, blank=True)
    charging_transaction_id = models.IntegerField(
        null=True, blank=True, help_text="The charging app's transaction id (OCPP)."
    )

    class Meta:
        ordering = ["bill", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "position"], name="bill_line_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class ReadQuality(models.TextChoices):
    ACTUAL = "A", "Actual"
    ESTIMATED = "E", "Estimated"
    CUSTOMER = "C", "Customer read"


class BillMeterRead(models.Model):
    """A meter's opening and closing register reads for the bill's period, as printed."""

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="reads")
    meter = models.ForeignKey("meters.Meter", on_delete=models.PROTECT, related_name="+")
    meter_serial = models.CharField(max_length=64)
    opening_at = models.DateTimeField(null=True, blank=True)
    opening_kwh = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    opening_quality = models.CharField(max_length=1, choices=ReadQuality.choices, blank=True)
    closing_at = models.DateTimeField(null=True, blank=True)
    closing_kwh = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    closing_quality = models.CharField(max_length=1, choices=ReadQuality.choices, blank=True)
    consumption_kwh = models.DecimalField(max_digits=14, decimal_places=4)
    register_resets = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["bill", "meter_serial"]

    def __str__(self) -> str:
        return f"{self.meter_serial}: {self.consumption_kwh} kWh"


class BillRun(models.Model):
    """One run of the month's bills (beat, command or admin), for the status page."""

    month = models.DateField()
    trigger = models.CharField(max_length=20)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    regenerated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    # A run fanned out over Celery workers (services.fanout): its chunks, and how many are done.
    issue = models.BooleanField(default=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.trigger})"

    @property
    def progress(self) -> str:
        if self.finished_at is not None:
            return "finished"
        if not self.chunks_total:
            return "running"
        return f"{self.chunks_done} of {self.chunks_total} chunks"


class BillRunChunk(models.Model):
    """One worker task's share of a fanned-out run: its accounts, and once done what it did.
    Done in the same transaction as its bills, so a worker killed mid-chunk leaves it undone
    (and its bills unwritten) for the task's redelivery."""

    run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    account_ids = models.JSONField()
    done_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    regenerated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="bill_run_chunk_once")
        ]

    def __str__(self) -> str:
        return f"{self.run} chunk {self.number}"


class RateDirection(models.TextChoices):
    IMPORT = "import", "Import"
    EXPORT = "export", "Export"


class HalfHourRate(models.Model):
    """One half-hour's unit rate of a dynamic tariff (before VAT, per kWh, in the tariff's
    currency; may be negative). ``valid_from`` is the UTC start of the half-hour; a half-hour
    without a row has no price (bills wait for it, never price it at zero)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="half_hour_rates")
    direction = models.CharField(max_length=6, choices=RateDirection.choices)
    valid_from = models.DateTimeField()
    value_exc_vat = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)

    class Meta:
        ordering = ["tariff", "direction", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["tariff", "direction", "valid_from"], name="half_hour_rate_unique"
            ),
            models.CheckConstraint(
                condition=Q(value_exc_vat__gte=HALF_HOUR_RATE_MIN)
                & Q(value_exc_vat__lte=HALF_HOUR_RATE_MAX),
                name="half_hour_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tariff} {self.direction} {self.valid_from:%Y-%m-%d %H:%M}Z"


# The ledger's tables live in their own module (this one would pass 400 lines); they are
# billing's models all the same, imported from here.
from .models_ledger import (  # noqa: E402, F401
    BILL_KINDS,
    BankStatementImport,
    BankStatementLine,
    DirectDebitItem,
    DirectDebitMandate,
    DirectDebitRun,
    EntryKind,
    LedgerEntry,
    LineStatus,
    PaymentMethod,
)
