"""Home batteries: the fleet registry, telemetry history, alerts, rules and instructions.

Power is in kW and signed: positive = discharging (to the home or grid), negative = charging.
State of charge is a percentage 0-100. Every time is stored in UTC.
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import CustomerAccount, User

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


class InstructionAction(models.TextChoices):
    CHARGE = "charge", "Charge at X kW"
    DISCHARGE = "discharge", "Discharge at X kW"
    HOLD = "hold", "Hold (neither charge nor discharge)"
    IDLE = "idle", "Idle (return to the unit's own control)"
    SET_RESERVE = "set_reserve", "Set reserve SoC"


class TariffWindow(models.TextChoices):
    CHEAP = "cheap", "Cheap"
    PEAK = "peak", "Peak"


_ACTION_PARAMETERS = (
    (Q(action__in=["charge", "discharge"]) & Q(power_kw__gt=0) & Q(reserve_soc__isnull=True))
    | (
        Q(action="set_reserve")
        & Q(power_kw__isnull=True)
        & Q(reserve_soc__gte=0)
        & Q(reserve_soc__lte=100)
    )
    | (Q(action__in=["hold", "idle"]) & Q(power_kw__isnull=True) & Q(reserve_soc__isnull=True))
)


class InstructionRule(models.Model):
    """When every set condition holds, the battery is told to do ``action``. Among the rules that
    hold for a battery, the highest ``priority`` wins (ties: the oldest rule)."""

    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    priority = models.IntegerField(default=0, help_text="Higher wins.")
    # Scope: exactly one of these.
    battery = models.ForeignKey(
        Battery, on_delete=models.CASCADE, null=True, blank=True, related_name="rules"
    )
    account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="battery_rules",
    )
    identifier_prefix = models.CharField(
        max_length=32, blank=True, help_text="Applies to every battery whose identifier starts so."
    )
    # Conditions: a blank one always holds.
    soc_above = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    soc_below = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    window_start = models.TimeField(
        null=True, blank=True, help_text="Local time; a window may wrap past midnight."
    )
    window_end = models.TimeField(null=True, blank=True)
    tariff_window = models.CharField(
        max_length=8,
        choices=TariffWindow.choices,
        blank=True,
        help_text="Holds only when the billing app says this window is current.",
    )
    temperature_below = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    only_without_alerts = models.BooleanField(
        default=False, help_text="Holds only while the battery has no unresolved alert."
    )
    # Action.
    action = models.CharField(max_length=12, choices=InstructionAction.choices)
    power_kw = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    reserve_soc = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(battery__isnull=False, account__isnull=True, identifier_prefix="")
                    | Q(battery__isnull=True, account__isnull=False, identifier_prefix="")
                    | (Q(battery__isnull=True, account__isnull=True) & ~Q(identifier_prefix=""))
                ),
                name="instruction_rule_one_scope",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(window_start__isnull=False, window_end__isnull=False),
                name="instruction_rule_window_both_ends",
            ),
            models.CheckConstraint(
                condition=_ACTION_PARAMETERS, name="instruction_rule_action_parameters"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class InstructionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


# Instructions that are still in force (or about to be) for their battery.
ACTIVE_INSTRUCTION_STATUSES = (
    InstructionStatus.PENDING,
    InstructionStatus.SENT,
    InstructionStatus.ACKNOWLEDGED,
)


class InstructionSource(models.TextChoices):
    RULE = "rule", "Rule"
    MANUAL = "manual", "Manual"


class BatteryInstruction(models.Model):
    """One instruction to one battery and its outcome, kept for audit. Its id travels in the MQTT
    command so the unit's acknowledgement names it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    battery = models.ForeignKey(Battery, on_delete=models.CASCADE, related_name="instructions")
    source = models.CharField(max_length=8, choices=InstructionSource.choices)
    rule = models.ForeignKey(
        InstructionRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="instructions",
    )
    requested_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=12, choices=InstructionAction.choices)
    power_kw = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    reserve_soc = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=InstructionStatus.choices, default=InstructionStatus.PENDING
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True, help_text="Why it ended as it did.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=_ACTION_PARAMETERS, name="battery_instruction_action_parameters"
            ),
            models.UniqueConstraint(
                fields=["battery"],
                condition=Q(status__in=["pending", "sent", "acknowledged"]),
                name="battery_instruction_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} -> {self.battery_id} ({self.status})"
