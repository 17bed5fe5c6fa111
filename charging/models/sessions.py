"""Id tags, the charging sessions they start, and the meter samples taken during them."""

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from .chargers import Charger

# The OCPP measurand a sample without one is (OCPP 1.6, SampledValue): the energy register that
# sessions and bills are read from.
ENERGY_REGISTER = "Energy.Active.Import.Register"


class IdTag(models.Model):
    """An RFID card or app token. The answer to Authorize/Start follows from these fields.

    OCPP 1.6 makes an IdToken a CiString20 (case-insensitive, printable ASCII): ``id_tag`` keeps
    the case it was registered with, is unique ignoring case, and is matched ignoring case."""

    id_tag = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey(
        "accounts.CustomerAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="id_tags",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    blocked = models.BooleanField(default=False)
    max_concurrent_transactions = models.PositiveIntegerField(
        default=1, help_text="0 means no limit."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id_tag"]
        constraints = [
            models.UniqueConstraint(
                Upper("id_tag"),
                name="id_tag_unique_ignoring_case",
                violation_error_message="An id tag with this value (ignoring case) already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.id_tag

    def authorization_status(self, now: datetime) -> str:
        """Accepted, Blocked (the tag or its parent) or Expired; ConcurrentTx depends on running
        sessions and is the services' to decide."""
        if self.blocked or (self.parent_id and self.parent.blocked):
            return "Blocked"
        if self.expires_at and self.expires_at <= now:
            return "Expired"
        return "Accepted"


# OCPP 2.0.1: transactionId is an identifierString of up to 36 characters; IdToken too.
TRANSACTION_UID_MAX = 36


class Transaction(models.Model):
    """A charging session of either version. The primary key is the OCPP 1.6 transactionId:
    int32, allocated by the database sequence, never reused (a sequence never hands out a value
    twice). A 2.0.1 session gets one too (sessions, bills and pages name sessions by it), and
    keeps the station's own transactionId in ``transaction_uid`` ("" for 1.6); its
    ``connector_id`` is the 2.0.1 EVSE id (what 1.6 called a connector)."""

    id = models.AutoField(primary_key=True)
    charger = models.ForeignKey(Charger, on_delete=models.PROTECT, related_name="transactions")
    transaction_uid = models.CharField(max_length=TRANSACTION_UID_MAX, blank=True, default="")
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=TRANSACTION_UID_MAX, blank=True)
    tag = models.ForeignKey(IdTag, null=True, blank=True, on_delete=models.SET_NULL)
    account = models.ForeignKey(
        "accounts.CustomerAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="charging_transactions",
    )
    authorization_status = models.CharField(max_length=16)
    reservation_id = models.IntegerField(null=True, blank=True)
    meter_start_wh = models.BigIntegerField()
    started_at = models.DateTimeField()
    meter_stop_wh = models.BigIntegerField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=32, blank=True)
    stop_id_tag = models.CharField(max_length=TRANSACTION_UID_MAX, blank=True)
    energy_kwh = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    transaction_data = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # A retried StartTransaction is the same session, so it gets the same id.
            models.UniqueConstraint(
                fields=["charger", "connector_id", "id_tag", "started_at", "meter_start_wh"],
                condition=Q(transaction_uid=""),
                name="transaction_start_unique",
            ),
            # 2.0.1: the station names its transactions; one row per name.
            models.UniqueConstraint(
                fields=["charger", "transaction_uid"],
                condition=~Q(transaction_uid=""),
                name="transaction_uid_unique",
            ),
            models.CheckConstraint(
                condition=Q(meter_stop_wh__isnull=True) | Q(stopped_at__isnull=False),
                name="transaction_stop_complete",
            ),
        ]
        indexes = [models.Index(fields=["charger", "stopped_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.charger_id}/{self.connector_id}"

    @property
    def is_active(self) -> bool:
        return self.stopped_at is None

    @property
    def duration(self) -> timedelta | None:
        return (self.stopped_at - self.started_at) if self.stopped_at else None


class TransactionEvent(models.Model):
    """An OCPP 2.0.1 TransactionEventRequest as received: one per (charger, transactionId,
    seqNo), so a retried or replayed event is stored, and applied, once."""

    charger = models.ForeignKey(
        Charger, on_delete=models.CASCADE, related_name="transaction_events"
    )
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    transaction_uid = models.CharField(max_length=TRANSACTION_UID_MAX)
    seq_no = models.BigIntegerField()
    event_type = models.CharField(max_length=8)
    trigger_reason = models.CharField(max_length=32)
    offline = models.BooleanField(default=False)
    timestamp = models.DateTimeField()
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["charger", "transaction_uid", "seq_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["charger", "transaction_uid", "seq_no"],
                name="transaction_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.transaction_uid}#{self.seq_no} {self.event_type}"


class MeterValue(models.Model):
    """One sampled value. ``value`` is kept as the charger sent it; ``numeric`` when it parses."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="meter_values")
    connector_id = models.PositiveIntegerField()
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.CASCADE, related_name="meter_values"
    )
    sampled_at = models.DateTimeField()
    value = models.CharField(max_length=255)
    numeric = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    measurand = models.CharField(max_length=64, default=ENERGY_REGISTER)
    phase = models.CharField(max_length=8, blank=True)
    unit = models.CharField(max_length=16, default="Wh")
    context = models.CharField(max_length=32, default="Sample.Periodic")
    location = models.CharField(max_length=16, default="Outlet")
    format = models.CharField(max_length=16, default="Raw")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sampled_at", "pk"]
        indexes = [
            models.Index(fields=["transaction", "sampled_at"]),
            models.Index(fields=["charger", "connector_id", "sampled_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.measurand} {self.value} {self.unit}"
