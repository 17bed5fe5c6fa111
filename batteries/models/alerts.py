"""Abnormality alerts opened and resolved by monitoring."""

from django.db import models
from django.db.models import Q

from accounts.models import User

from .registry import Battery


class AlertRule(models.TextChoices):
    TEMPERATURE_WARNING = "temperature_warning", "Temperature above warning"
    TEMPERATURE_CRITICAL = "temperature_critical", "Temperature above critical"
    SOC_BELOW_RESERVE = "soc_below_reserve", "State of charge below reserve"
    VOLTAGE_OUT_OF_RANGE = "voltage_out_of_range", "Voltage out of range"
    POWER_ABOVE_RATING = "power_above_rating", "Power above rating"
    OFFLINE = "offline", "Telemetry stale (offline)"


class AlertSeverity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class BatteryAlert(models.Model):
    """An abnormality: opened by monitoring, acknowledged by staff, resolved by monitoring when
    the condition clears. At most one unresolved alert per battery and rule (a DB constraint)."""

    battery = models.ForeignKey(Battery, on_delete=models.CASCADE, related_name="alerts")
    rule = models.CharField(max_length=24, choices=AlertRule.choices)
    severity = models.CharField(max_length=8, choices=AlertSeverity.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    message = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["battery", "rule"],
                condition=~Q(status="resolved"),
                name="battery_alert_one_unresolved_per_rule",
            ),
        ]
        indexes = [models.Index(fields=["rule", "status"])]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} ({self.status})"
