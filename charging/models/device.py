"""What an OCPP 2.0.1 station reports about itself beyond its boot: its device model
(NotifyReport, after GetBaseReport) and the events it notifies (SecurityEventNotification,
NotifyEvent)."""

from django.db import models
from django.utils import timezone

from .chargers import Charger


class DeviceModelVariable(models.Model):
    """One variable attribute of a component, as the station last reported it. Absent parts of
    the key (no instance, no EVSE) are stored as "" / 0 so the key stays unique."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="device_model")
    component = models.CharField(max_length=50)
    component_instance = models.CharField(max_length=50, blank=True)
    evse_id = models.PositiveIntegerField(default=0)
    evse_connector_id = models.PositiveIntegerField(default=0)
    variable = models.CharField(max_length=50)
    variable_instance = models.CharField(max_length=50, blank=True)
    attribute_type = models.CharField(max_length=8, default="Actual")
    value = models.CharField(max_length=2500, blank=True)
    mutability = models.CharField(max_length=10, blank=True)
    data_type = models.CharField(max_length=16, blank=True)
    characteristics = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["charger", "component", "evse_id", "variable", "attribute_type"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "charger",
                    "component",
                    "component_instance",
                    "evse_id",
                    "evse_connector_id",
                    "variable",
                    "variable_instance",
                    "attribute_type",
                ],
                name="device_model_variable_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.component}.{self.variable} = {self.value}"


class ChargerEvent(models.Model):
    """A security event or a monitoring event a station notified, kept as it was sent."""

    class Kind(models.TextChoices):
        SECURITY = "security"
        MONITORING = "monitoring"

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    type = models.CharField(max_length=50)
    timestamp = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp", "-pk"]
        indexes = [models.Index(fields=["charger", "-timestamp"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.type} on {self.charger_id}"
