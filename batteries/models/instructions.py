"""Instruction rules and the instructions sent to batteries."""

import uuid

from django.db import models
from django.db.models import Q

from accounts.models import CustomerAccount, User

from .registry import PERCENT, Battery


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
