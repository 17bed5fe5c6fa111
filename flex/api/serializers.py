from rest_framework import serializers

from config import api_fields as fields


class GoalInput(serializers.Serializer):
    """Either ``energy_wh`` or ``target_soc_pct`` with ``vehicle_capacity_wh``. ``ready_by`` is
    a local time of day (Europe/London): the next one to come. ``price_cap`` in pence per kWh,
    VAT included. ``charge_now`` overrides the plan (the charger runs unlimited)."""

    ready_by = serializers.TimeField(help_text="Local time, e.g. 07:00.")
    energy_wh = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    target_soc_pct = serializers.IntegerField(required=False, allow_null=True)
    vehicle_capacity_wh = serializers.IntegerField(required=False, allow_null=True)
    max_power_w = serializers.IntegerField(required=False, default=7400)
    min_power_w = serializers.IntegerField(
        required=False, default=1380, help_text="The charger's least power (W); 0: none."
    )
    price_cap = serializers.DecimalField(
        max_digits=8, decimal_places=3, required=False, allow_null=True
    )
    charge_now = serializers.BooleanField(required=False, default=False)
    connector_id = serializers.IntegerField(required=False, default=1)


class SlotOutput(serializers.Serializer):
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField()
    power_w = serializers.IntegerField()
    price = fields.DecimalField(
        max_digits=12, decimal_places=5, allow_null=True, help_text="Pence per kWh, VAT included."
    )


class PlanOutput(serializers.Serializer):
    created_at = serializers.DateTimeField()
    starts_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField()
    needed_wh = serializers.IntegerField()
    delivered_wh = serializers.IntegerField()
    cost_pence = fields.DecimalField(max_digits=12, decimal_places=4)
    charge_now_cost_pence = fields.DecimalField(max_digits=12, decimal_places=4)
    unpriced_wh = serializers.IntegerField(help_text="Planned in half-hours without a price yet.")
    met = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why the goal cannot be met; empty when it is.")
    delivery = serializers.CharField(help_text="none, pending, accepted or refused.")
    slots = SlotOutput(many=True)


class GoalOutput(serializers.Serializer):
    charger = serializers.IntegerField(source="charger_id")
    connector_id = serializers.IntegerField()
    ready_by = serializers.TimeField()
    energy_wh = serializers.IntegerField(allow_null=True)
    target_soc_pct = serializers.IntegerField(allow_null=True)
    vehicle_capacity_wh = serializers.IntegerField(allow_null=True)
    max_power_w = serializers.IntegerField()
    min_power_w = serializers.IntegerField()
    price_cap = fields.DecimalField(max_digits=8, decimal_places=3, allow_null=True)
    charge_now = serializers.BooleanField()
    state = serializers.CharField(help_text="planned, charge_now or fallback.")
    notice = serializers.CharField(help_text="What the customer is told (e.g. a fallback).")
    updated_at = serializers.DateTimeField()
    plan = PlanOutput(allow_null=True)


class ScheduleInput(serializers.Serializer):
    """A target SoC needs its local time and the other way round."""

    enabled = serializers.BooleanField(required=False, default=True)
    charge_limit_w = serializers.IntegerField(required=False, default=3000)
    discharge_limit_w = serializers.IntegerField(required=False, default=3000)
    efficiency_pct = serializers.IntegerField(required=False, default=90)
    reserve_pct = serializers.IntegerField(required=False, allow_null=True)
    target_soc_pct = serializers.IntegerField(required=False, allow_null=True)
    target_time = serializers.TimeField(required=False, allow_null=True)


class BatteryPlanOutput(serializers.Serializer):
    created_at = serializers.DateTimeField()
    starts_at = serializers.DateTimeField()
    cost_pence = fields.DecimalField(
        max_digits=12, decimal_places=4, help_text="Against leaving the unit idle; negative saves."
    )
    met = serializers.BooleanField()
    reason = serializers.CharField()
    soc_pct = serializers.ListField(child=serializers.CharField())
    slots = SlotOutput(many=True)


class ScheduleOutput(serializers.Serializer):
    battery = serializers.CharField(source="battery.identifier")
    enabled = serializers.BooleanField()
    charge_limit_w = serializers.IntegerField()
    discharge_limit_w = serializers.IntegerField()
    efficiency_pct = serializers.IntegerField()
    reserve_pct = serializers.IntegerField(allow_null=True)
    target_soc_pct = serializers.IntegerField(allow_null=True)
    target_time = serializers.TimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    plan = BatteryPlanOutput(allow_null=True)


class SessionOutcomeOutput(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    connector_id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField()
    energy_wh = serializers.IntegerField()
    cost_pence = fields.DecimalField(
        max_digits=12,
        decimal_places=4,
        help_text="The session's energy per half-hour at the import prices, VAT included.",
    )
    charge_now_cost_pence = fields.DecimalField(
        max_digits=12,
        decimal_places=4,
        help_text="The same energy charged at once from the session's start at the goal's power.",
    )
    saved_pence = fields.DecimalField(max_digits=12, decimal_places=4)
    unpriced_wh = serializers.IntegerField(
        help_text="Energy in half-hours without a price yet (left out of both costs)."
    )
