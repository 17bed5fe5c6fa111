"""EV chargers speaking OCPP 1.6J: the charger and its connectors, id tags, transactions, meter
samples, status history, the frame log, commands sent to chargers and what those commands manage
(reservations, charging profiles, the local authorization list).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from . import keys

INT32_MAX = 2**31 - 1
# The OCPP measurand a sample without one is (OCPP 1.6, SampledValue): the energy register that
# sessions and bills are read from.
ENERGY_REGISTER = "Energy.Active.Import.Register"


class Registration(models.TextChoices):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class Charger(models.Model):
    """A charge point, named by the identity in its URL ``/ocpp/<charge_point_id>``."""

    charge_point_id = models.CharField(max_length=48, unique=True)
    account = models.ForeignKey(
        "accounts.CustomerAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chargers",
        help_text="The customer whose charger this is; they see and operate it in the portal.",
    )
    password_hash = models.CharField(
        max_length=256,
        blank=True,
        help_text="HTTP Basic password (security profile 1, the AuthorizationKey) as a keyed "
        "HMAC-SHA256 digest (see charging/keys.py). Empty: no password check.",
    )
    registration = models.CharField(
        max_length=16, choices=Registration.choices, default=Registration.ACCEPTED
    )
    vendor = models.CharField(max_length=255, blank=True)
    model = models.CharField(max_length=255, blank=True)
    serial_number = models.CharField(max_length=255, blank=True)
    box_serial_number = models.CharField(max_length=255, blank=True)
    firmware_version = models.CharField(max_length=255, blank=True)
    iccid = models.CharField(max_length=255, blank=True)
    imsi = models.CharField(max_length=255, blank=True)
    meter_type = models.CharField(max_length=255, blank=True)
    meter_serial_number = models.CharField(max_length=255, blank=True)
    booted_at = models.DateTimeField(null=True, blank=True)
    heartbeat_interval = models.PositiveIntegerField(default=300)
    # Connection state: the one daphne channel that owns the socket now.
    connected = models.BooleanField(default=False, db_index=True)
    channel_name = models.CharField(max_length=200, blank=True)
    remote_address = models.CharField(max_length=100, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    diagnostics_status = models.CharField(max_length=32, blank=True)
    firmware_status = models.CharField(max_length=32, blank=True)
    local_list_version = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["charge_point_id"]

    def __str__(self) -> str:
        return self.charge_point_id

    def set_password(self, raw: str) -> None:
        self.password_hash = keys.key_digest(keys.key_canonical(raw)) if raw else ""

    def check_password(self, raw: bytes | str | None) -> bool:
        """A charger without a password matches none: it may only wait as Pending."""
        return keys.key_matches(raw, self.password_hash)[0]

    @property
    def is_accepted(self) -> bool:
        return self.registration == Registration.ACCEPTED

    def offline_after(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_interval * 2 + settings.CHARGING_OFFLINE_GRACE)


class Connector(models.Model):
    """A connector's current state; ``connector_id`` 0 is the charger as a whole."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=32, default="Unavailable")
    error_code = models.CharField(max_length=32, default="NoError")
    info = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=255, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    live_power_w = models.DecimalField(max_digits=12, decimal_places=1, null=True, blank=True)
    live_energy_kwh = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    live_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["charger", "connector_id"]
        constraints = [
            models.UniqueConstraint(fields=["charger", "connector_id"], name="connector_unique")
        ]

    def __str__(self) -> str:
        return f"{self.charger_id}/{self.connector_id}"


class StatusNotification(models.Model):
    """History of every StatusNotification, as the charger timestamped it."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="status_history")
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=32)
    error_code = models.CharField(max_length=32)
    info = models.CharField(max_length=255, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["charger", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.charger_id}/{self.connector_id} {self.status}"


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


class Transaction(models.Model):
    """A charging session. The primary key is the OCPP transactionId: int32, allocated by the
    database sequence, never reused (a sequence never hands out a value twice)."""

    id = models.AutoField(primary_key=True)
    charger = models.ForeignKey(Charger, on_delete=models.PROTECT, related_name="transactions")
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=20)
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
    stop_id_tag = models.CharField(max_length=20, blank=True)
    energy_kwh = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    transaction_data = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # A retried StartTransaction is the same session, so it gets the same id.
            models.UniqueConstraint(
                fields=["charger", "connector_id", "id_tag", "started_at", "meter_start_wh"],
                name="transaction_start_unique",
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


class Direction(models.TextChoices):
    IN = "in", "charger to server"
    OUT = "out", "server to charger"


class OcppMessage(models.Model):
    """Every frame in and out, as text, kept for CHARGING_MESSAGE_RETENTION_DAYS."""

    charger = models.ForeignKey(
        Charger, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    charge_point_id = models.CharField(max_length=48, db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.PositiveSmallIntegerField(null=True, blank=True)
    unique_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, blank=True)
    frame = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["charger", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.charge_point_id} {self.action}"


class CommandStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ERROR = "error"
    TIMEOUT = "timeout"
    OFFLINE = "offline"


class ChargerCommand(models.Model):
    """A central-system CALL to a charger and its outcome."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="commands")
    operation = models.CharField(max_length=40)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=CommandStatus.choices, default=CommandStatus.PENDING
    )
    response = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_description = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # A key rotation: the digest of the key sent (the key itself is stored nowhere; the payload
    # shows a mask). It becomes the charger's password when the charger answers Accepted.
    new_key_digest = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["charger", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.operation} to {self.charger_id}: {self.status}"

    @property
    def is_done(self) -> bool:
        return self.status != CommandStatus.PENDING


class ReservationStatus(models.TextChoices):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    USED = "used"


class Reservation(models.Model):
    """The primary key is the OCPP reservationId."""

    id = models.AutoField(primary_key=True)
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="reservations")
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=20)
    parent_id_tag = models.CharField(max_length=20, blank=True)
    expires_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.REQUESTED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"reservation {self.pk} on {self.charger_id}/{self.connector_id}"


class ChargingProfile(models.Model):
    """A profile set on a charger (SetChargingProfile accepted); removed by ClearChargingProfile."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="charging_profiles")
    connector_id = models.PositiveIntegerField()
    profile_id = models.IntegerField()
    stack_level = models.PositiveIntegerField()
    purpose = models.CharField(max_length=32)
    kind = models.CharField(max_length=16)
    profile = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["charger", "connector_id", "stack_level"]
        constraints = [
            models.UniqueConstraint(
                fields=["charger", "profile_id"], name="charging_profile_unique_per_charger"
            )
        ]

    def __str__(self) -> str:
        return f"profile {self.profile_id} on {self.charger_id}"


class LocalAuthListEntry(models.Model):
    """What the charger's local authorization list holds, as last sent with SendLocalList."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="local_auth_list")
    id_tag = models.CharField(max_length=20)
    status = models.CharField(max_length=16, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["charger", "id_tag"]
        constraints = [
            models.UniqueConstraint(fields=["charger", "id_tag"], name="local_list_entry_unique")
        ]

    def __str__(self) -> str:
        return f"{self.id_tag} on {self.charger_id}"


class Anomaly(models.Model):
    """Something a charger sent that the server answered but could not apply as sent: an unknown
    tag on a start, a bogus transactionId, a stop for a stopped transaction, a bad timestamp."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="anomalies")
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=48)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.charger_id}"


class ChargingNode(models.Model):
    """A process holding charger sockets (a daphne), named by its channel layer prefix: the part
    of its consumers' channel names before "!". It writes ``seen_at`` every
    CHARGING_NODE_HEARTBEAT_SECONDS; one silent for CHARGING_NODE_TTL died without closing its
    sockets (SIGKILL, power), so the chargers it owned are not connected any more."""

    name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
