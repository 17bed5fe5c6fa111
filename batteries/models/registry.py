"""The fleet registry and telemetry history.

Power is in kW and signed: positive = discharging (to the home or grid), negative = charging.
State of charge is a percentage 0-100. Every time is stored in UTC.
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import CustomerAccount

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class BatteryStatus(models.TextChoices):
    IDLE = "idle", "Idle"
    CHARGING = "charging", "Charging"
    DISCHARGING = "discharging", "Discharging"
    OFFLINE = "offline", "Offline"


class BatteryFlag(models.TextChoices):
    """Ordered by severity: the battery's flag is the worst of what it reports and its alerts."""

    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class IdentifierCounter(models.Model):
    """The last number handed out per identifier prefix (a postcode district)."""

    prefix = models.CharField(max_length=4, primary_key=True)
    last_value = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last_value}"


class Battery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identifier = models.CharField(
        max_length=32,
        unique=True,
        editable=False,
        help_text="PREFIX-XXXX-CAP: postcode district, per-district hex counter, capacity kWh.",
    )
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="batteries")
    location = models.CharField(max_length=200, help_text="Where the unit is, e.g. Garage.")
    postcode = models.CharField(max_length=8, help_text="Normalised: upper-case, one space.")
    capacity_kwh = models.DecimalField(max_digits=6, decimal_places=2)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    vendor = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    min_soc_reserve = models.DecimalField(
        max_digits=5, decimal_places=2, default=10, validators=PERCENT
    )
    max_soc_reserve = models.DecimalField(
        max_digits=5, decimal_places=2, default=100, validators=PERCENT
    )

    # Current state: the newest reading's values (status may be set offline by monitoring).
    soc_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    power_kw = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    voltage_v = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    temperature_c = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=BatteryStatus.choices, default=BatteryStatus.OFFLINE
    )
    reported_flag = models.CharField(
        max_length=8,
        choices=BatteryFlag.choices,
        default=BatteryFlag.OK,
        help_text="The flag the unit itself last reported.",
    )
    flag = models.CharField(
        max_length=8,
        choices=BatteryFlag.choices,
        default=BatteryFlag.OK,
        help_text="The worst of the reported flag and the open alerts.",
    )
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["identifier"]
        verbose_name_plural = "batteries"
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["flag"]),
            models.Index(fields=["vendor", "model"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(capacity_kwh__gt=0), name="battery_capacity_gt_0"),
            models.CheckConstraint(
                condition=Q(min_soc_reserve__gte=0)
                & Q(max_soc_reserve__lte=100)
                & Q(min_soc_reserve__lt=models.F("max_soc_reserve")),
                name="battery_soc_reserve_range",
            ),
        ]

    def __str__(self) -> str:
        return self.identifier


class BatteryReading(models.Model):
    """Append-only telemetry history: one row per battery and timestamp."""

    battery = models.ForeignKey(Battery, on_delete=models.CASCADE, related_name="readings")
    at = models.DateTimeField()
    soc_percent = models.DecimalField(max_digits=5, decimal_places=2)
    power_kw = models.DecimalField(max_digits=8, decimal_places=3)
    voltage_v = models.DecimalField(max_digits=7, decimal_places=2)
    temperature_c = models.DecimalField(max_digits=5, decimal_places=2)
    status = models.CharField(max_length=12, choices=BatteryStatus.choices)
    flag = models.CharField(max_length=8, choices=BatteryFlag.choices)
    source = models.CharField(max_length=8, default="api")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["battery", "at"]
        constraints = [
            models.UniqueConstraint(fields=["battery", "at"], name="battery_reading_unique_at"),
        ]

    def __str__(self) -> str:
        return f"{self.battery_id} @ {self.at:%Y-%m-%d %H:%M:%S}"


class ModelThresholds(models.Model):
    """Monitoring thresholds for one vendor and model; a blank value uses the setting's default
    (``BATTERIES_THRESHOLD_DEFAULTS``)."""

    vendor = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    charge_temperature_warning_c = models.FloatField(null=True, blank=True)
    charge_temperature_critical_c = models.FloatField(null=True, blank=True)
    discharge_temperature_warning_c = models.FloatField(null=True, blank=True)
    discharge_temperature_critical_c = models.FloatField(null=True, blank=True)
    voltage_min_v = models.FloatField(null=True, blank=True)
    voltage_max_v = models.FloatField(null=True, blank=True)
    rated_power_kw = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["vendor", "model"]
        verbose_name_plural = "model thresholds"
        constraints = [
            models.UniqueConstraint(fields=["vendor", "model"], name="model_thresholds_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.model}"
