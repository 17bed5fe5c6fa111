"""What passes between the central system and its chargers, and what keeps it in order: the
frame log, commands and what they manage (reservations, charging profiles, the local
authorization list), anomalies, and the daphne nodes that hold the sockets."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .chargers import Charger
from .sessions import Transaction


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
        verbose_name_plural = "local auth list entries"
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
        verbose_name_plural = "anomalies"

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
