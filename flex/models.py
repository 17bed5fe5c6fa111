"""Charging goals and their plans, battery schedules and theirs, and each household's import
limit: what the planner (``flex/planner/``) is asked and what it answered."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import CustomerAccount
from batteries.models import Battery
from charging.models import INT32_MAX, Charger, ChargerCommand


def default_import_limit_w() -> int:
    return settings.FLEX_DEFAULT_IMPORT_LIMIT_W


class Household(models.Model):
    """What the household may draw from the grid at once (its fuse, or the supplier's agreed
    capacity): the EV and the battery share the headroom it leaves above the house's load."""

    account = models.OneToOneField(
        CustomerAccount, on_delete=models.CASCADE, related_name="flex_household"
    )
    import_limit_w = models.PositiveIntegerField(
        default=default_import_limit_w,
        validators=[MinValueValidator(1000), MaxValueValidator(100_000)],
    )

    def __str__(self) -> str:
        return f"{self.account} ({self.import_limit_w} W)"


class GoalState(models.TextChoices):
    PLANNED = "planned", "Planned: the charger follows the plan"
    CHARGE_NOW = "charge_now", "Charging now (the customer's override)"
    FALLBACK = "fallback", "Charging now: the charger did not take the plan"


class ChargingGoal(models.Model):
    """A customer's goal for their charger: ready by a local time with an amount of energy (or
    a target SoC of a car of a given capacity), an optional price cap, or charge now."""

    charger = models.OneToOneField(Charger, on_delete=models.CASCADE, related_name="flex_goal")
    connector_id = models.PositiveSmallIntegerField(default=1)
    ready_by = models.TimeField(help_text="Local time (settings.TIME_ZONE), the next one to come.")
    energy_wh = models.PositiveIntegerField(null=True, blank=True)
    target_soc_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    vehicle_capacity_wh = models.PositiveIntegerField(null=True, blank=True)
    max_power_w = models.PositiveIntegerField(default=7400)
    min_power_w = models.PositiveIntegerField(
        default=1380,
        help_text="The least the charger charges at (OCPP chargers stop below about 6 A: "
        "1380 W on one phase at 230 V); a planned half-hour is 0 or at least this.",
    )
    price_cap = models.DecimalField(
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Pence per kWh, VAT included; half-hours dearer than this are not used.",
    )
    charge_now = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=GoalState.choices, default=GoalState.PLANNED)
    notice = models.CharField(max_length=300, blank=True, help_text="What the customer is told.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(energy_wh__isnull=False, target_soc_pct__isnull=True)
                | Q(energy_wh__isnull=True, target_soc_pct__isnull=False),
                name="charging_goal_energy_or_soc",
            )
        ]

    def __str__(self) -> str:
        return f"goal of {self.charger}"

    @property
    def profile_id(self) -> int:
        """The charging profile id this goal's plans use on the charger (a new plan replaces the
        last one: same id, OCPP 1.6 §5.16), high in the id range to keep clear of staff's."""
        return INT32_MAX - self.pk % 1_000_000


class Delivery(models.TextChoices):
    NONE = "none", "Not sent (nothing to send)"
    PENDING = "pending", "Sent, waiting for the charger"
    ACCEPTED = "accepted", "Accepted by the charger"
    REFUSED = "refused", "Refused or not delivered"


class ChargingPlan(models.Model):
    """One plan of a goal: the power per half-hour from ``starts_at``, the prices it was made
    with (p/kWh inc VAT, None where the feed had none) and what it projects."""

    goal = models.ForeignKey(ChargingGoal, on_delete=models.CASCADE, related_name="plans")
    created_at = models.DateTimeField(auto_now_add=True)
    starts_at = models.DateTimeField()
    ready_at = models.DateTimeField()
    power_w = models.JSONField()
    prices = models.JSONField()
    needed_wh = models.PositiveIntegerField()
    delivered_wh = models.PositiveIntegerField()
    cost_pence = models.DecimalField(max_digits=12, decimal_places=4)
    charge_now_cost_pence = models.DecimalField(max_digits=12, decimal_places=4)
    unpriced_wh = models.PositiveIntegerField(default=0)
    met = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    command = models.ForeignKey(
        ChargerCommand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.NONE)

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"plan {self.pk} of {self.goal}"


class BatterySchedule(models.Model):
    """A battery under the planner: its limits, and an optional target SoC by a local time."""

    battery = models.OneToOneField(Battery, on_delete=models.CASCADE, related_name="flex_schedule")
    enabled = models.BooleanField(default=True)
    charge_limit_w = models.PositiveIntegerField(default=3000)
    discharge_limit_w = models.PositiveIntegerField(default=3000)
    efficiency_pct = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(50), MaxValueValidator(100)]
    )
    reserve_pct = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Blank: the unit's own minimum reserve. Never below it.",
    )
    target_soc_pct = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    target_time = models.TimeField(null=True, blank=True, help_text="Local time.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(target_soc_pct__isnull=True, target_time__isnull=True)
                | Q(target_soc_pct__isnull=False, target_time__isnull=False),
                name="battery_schedule_target_both_or_none",
            )
        ]

    def __str__(self) -> str:
        return f"schedule of {self.battery}"


class BatteryPlan(models.Model):
    """One plan of a battery schedule: power per half-hour (W, + discharging), SoC at each
    half-hour's start, and the projected cost against leaving the unit idle."""

    schedule = models.ForeignKey(BatterySchedule, on_delete=models.CASCADE, related_name="plans")
    created_at = models.DateTimeField(auto_now_add=True)
    starts_at = models.DateTimeField()
    power_w = models.JSONField()
    soc_pct = models.JSONField()
    prices = models.JSONField()
    export_prices = models.JSONField(default=list, help_text="Pence per kWh, None: no price.")
    cost_pence = models.DecimalField(max_digits=12, decimal_places=4)
    met = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"plan {self.pk} of {self.schedule}"
