"""The account ledger, payments and direct debits (re-exported by billing.models).

Every account's balance is the sum of its ``LedgerEntry`` amounts, never a stored number: a
positive amount is a debit (the customer owes more: a bill, a correction that adds, a refund
paid out), a negative one a credit (a payment, a goodwill credit, a correction that takes off).
A balance above zero is owed by the customer; below zero it is a credit carried forward.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import CustomerAccount

MONEY_DIGITS = 12
MONEY_PLACES = 2


class EntryKind(models.TextChoices):
    BILL = "bill", "Bill"
    CORRECTION = "correction", "Bill correction"
    BILL_VOID = "bill_void", "Bill voided"
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"
    GOODWILL = "goodwill", "Goodwill credit"


BILL_KINDS = (EntryKind.BILL, EntryKind.CORRECTION, EntryKind.BILL_VOID)


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    CARD = "card", "Card"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


class LedgerEntry(models.Model):
    """One movement on an account. Entries are never changed or deleted: a mistake is put right
    by another entry. ``idempotency_key`` makes a retried write (a re-imported bank row, a bill
    posted twice) a no-op."""

    account = models.ForeignKey(
        CustomerAccount, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    posted_on = models.DateField(help_text="Local day the entry counts from.")
    amount = models.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        help_text="Positive: a debit (owed by the customer); negative: a credit.",
    )
    currency = models.CharField(max_length=3, default="GBP")
    reference = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=14, choices=PaymentMethod.choices, blank=True)
    bill = models.ForeignKey(
        "billing.Bill",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["account", "posted_on", "pk"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["account", "posted_on"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["payment", "goodwill"]) | Q(amount__lt=0),
                name="ledger_credit_kinds_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind="refund") | Q(amount__gt=0), name="ledger_refund_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["bill", "correction", "bill_void"]) | Q(bill__isnull=False),
                name="ledger_bill_kinds_name_a_bill",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.posted_on} {self.kind} {self.amount}"


class LineStatus(models.TextChoices):
    MATCHED = "matched", "Matched to an account"
    UNMATCHED = "unmatched", "Unmatched: staff to match"
    INVALID = "invalid", "Unreadable row"


class BankStatementImport(models.Model):
    """One upload of a bank statement CSV (admin, API or ``manage.py import_payments``)."""

    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(
        default=0, help_text="Rows already imported from an earlier file: nothing added."
    )

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.imported_at:%Y-%m-%d %H:%M})"


class BankStatementLine(models.Model):
    """A row of a bank statement, kept whatever became of it: matched rows made a payment,
    unmatched and unreadable ones wait for staff (nothing is dropped)."""

    statement = models.ForeignKey(
        BankStatementImport, on_delete=models.PROTECT, related_name="lines"
    )
    row_number = models.PositiveIntegerField(help_text="Line of the file (the header is 1).")
    paid_on = models.DateField(null=True, blank=True)
    amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    reference = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=200, blank=True)
    raw = models.TextField(blank=True, help_text="The row as it was in the file.")
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=9, choices=LineStatus.choices)
    note = models.CharField(max_length=300, blank=True)
    account = models.ForeignKey(
        CustomerAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_line"
    )

    class Meta:
        ordering = ["statement", "row_number"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.statement_id}:{self.row_number} {self.reference} {self.amount}"


class DirectDebitMandate(models.Model):
    """An account paying by direct debit: the bank's mandate reference (formats out of scope)."""

    account = models.OneToOneField(
        CustomerAccount, on_delete=models.PROTECT, related_name="direct_debit_mandate"
    )
    reference = models.CharField(max_length=35, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reference"]

    def __str__(self) -> str:
        return self.reference


class DirectDebitRun(models.Model):
    """A collection run: every active mandate's account with a balance owed on the day it was
    made. One run per collection date; ``collected_at`` once the bank confirmed the collection
    and the payments are on the ledger."""

    collection_date = models.DateField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    collected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-collection_date"]

    def __str__(self) -> str:
        return f"Direct debits {self.collection_date}"


class DirectDebitItem(models.Model):
    run = models.ForeignKey(DirectDebitRun, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="+")
    mandate_reference = models.CharField(max_length=35)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = models.CharField(max_length=3, default="GBP")
    entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["run", "account"]
        constraints = [
            models.UniqueConstraint(fields=["run", "account"], name="dd_item_one_per_account"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="dd_item_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.mandate_reference}: {self.amount}"
