"""The charger, its connectors and their status history."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .. import keys

INT32_MAX = 2**31 - 1


class Registration(models.TextChoices):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class OcppVersion(models.TextChoices):
    """The OCPP-J version a charger speaks, named by its websocket subprotocol's version."""

    V16 = "1.6", "OCPP 1.6J"
    V201 = "2.0.1", "OCPP 2.0.1"


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
    ocpp_version = models.CharField(
        max_length=8,
        choices=OcppVersion.choices,
        default=OcppVersion.V16,
        help_text="The version negotiated at its last connection (websocket subprotocol).",
    )
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
