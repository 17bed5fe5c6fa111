"""Tasmota devices that publish meter telemetry, their online history, the messages that could not
be stored, and the ingest supervision's alerts.

A device is known by its Tasmota topic (``tele/<topic>/SENSOR``). It feeds one live meter; until
staff attach it (or its payload names a meter number we know) it is *unassigned*.
"""

from django.db import models

from meters.models import Meter, validate_timezone

from .payloads import QUANTITIES, overrides_validate


class Device(models.Model):
    topic = models.CharField(
        max_length=128, unique=True, help_text="Tasmota topic: the TOPIC in tele/TOPIC/SENSOR."
    )
    meter = models.OneToOneField(
        Meter,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="telemetry_device",
        help_text="Empty: unassigned; staff attach it to a live meter.",
    )
    mapping_overrides = models.JSONField(
        default=dict,
        blank=True,
        validators=[overrides_validate],
        help_text=(
            'JSON path -> quantity and scale, e.g. {"SML.E_total": {"quantity": "import_kwh", '
            '"scale": 0.001}}. Quantities: ' + ", ".join(QUANTITIES) + ". Overrides win over "
            "the default mapping."
        ),
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="Zone of the payload's Time; empty: the meter's (or TIME_ZONE).",
    )
    tele_period_seconds = models.PositiveIntegerField(
        default=300, help_text="Tasmota TelePeriod: the device publishes SENSOR this often."
    )
    online = models.BooleanField(
        null=True, blank=True, help_text="From LWT; empty until the first LWT."
    )
    online_changed_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True, help_text="Any message.")
    last_sensor_at = models.DateTimeField(null=True, blank=True, help_text="Last SENSOR message.")
    last_meter_number = models.CharField(max_length=64, blank=True)
    last_payload = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["topic"]

    def __str__(self) -> str:
        return self.topic

    @property
    def is_assigned(self) -> bool:
        return self.meter_id is not None


class DeviceTransition(models.Model):
    """An Online/Offline change reported by the device's LWT topic."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="transitions")
    online = models.BooleanField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.device} {'online' if self.online else 'offline'} {self.at:%Y-%m-%d %H:%M}"


class DeadLetter(models.Model):
    """A message the ingest could not store, kept as received for staff to inspect."""

    topic = models.CharField(max_length=256)
    payload = models.BinaryField()
    reason = models.TextField()
    code = models.CharField(max_length=32, db_index=True)
    device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="dead_letters"
    )
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.topic} {self.code}"

    @property
    def payload_text(self) -> str:
        return bytes(self.payload).decode("utf-8", errors="replace")


class ReceivedMessage(models.Model):
    """The identity (sha256 of topic and payload) of a message whose reading was stamped with its
    receive time, kept for TELEMETRY_DEDUP_WINDOW_SECONDS: a redelivery gets a new receive time,
    so only this recognises it. Messages with their own plausible Time need no row."""

    digest = models.CharField(max_length=64, primary_key=True)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.digest


class AlertKind(models.TextChoices):
    INGEST_DOWN = "ingest_down", "Ingest down"
    INGEST_DEGRADED = "ingest_degraded", "Ingest degraded"
    DEVICE_SILENT = "device_silent", "Device silent"
    DEVICE_OFFLINE = "device_offline", "Device offline"


class Alert(models.Model):
    """A supervision finding; open while ``resolved_at`` is empty. At most one open alert per kind
    and device (ingest alerts have no device)."""

    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    message = models.TextField()
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "device"],
                condition=models.Q(resolved_at__isnull=True, device__isnull=False),
                name="telemetry_alert_one_open_per_device",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(resolved_at__isnull=True, device__isnull=True),
                name="telemetry_alert_one_open_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"
