"""Flex in the admin: goals, battery schedules and households are set through the same
validators and services as the API and the portal; plans are the planner's output and read-only."""

from django import forms
from django.contrib import admin

from config.exceptions import InvalidInput, form_errors

from . import services
from .models import BatteryPlan, BatterySchedule, ChargingGoal, ChargingPlan, Household


class _ServiceForm(forms.ModelForm):
    """A model form whose values go through the service's one validator (``clean_with``)."""

    clean_with = staticmethod(lambda **data: data)

    def _post_clean(self):
        # The service's rule first: its messages name the field (the model's constraints would
        # say only which constraint failed).
        if not self.errors:
            data = {n: self.cleaned_data[n] for n in self.service_fields if n in self.cleaned_data}
            try:
                self.clean_with(**data)
            except InvalidInput as exc:
                self._update_errors(form_errors(exc))
                return
        super()._post_clean()


class ChargingGoalForm(_ServiceForm):
    clean_with = staticmethod(services.goal_clean)
    service_fields = services.GOAL_FIELDS

    class Meta:
        model = ChargingGoal
        fields = ["charger", *services.GOAL_FIELDS]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChargingGoal)
class ChargingGoalAdmin(admin.ModelAdmin):
    form = ChargingGoalForm
    list_display = ["charger", "ready_by", "energy_wh", "target_soc_pct", "charge_now", "state"]
    list_filter = ["state", "charge_now"]
    search_fields = ["charger__charge_point_id"]
    raw_id_fields = ["charger"]
    readonly_fields = ["state", "notice", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "charger"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.GOAL_FIELDS}
        form.instance = services.goal_set(charger=obj.charger, **data)

    def delete_model(self, request, obj):
        services.goal_clear(goal=obj)


@admin.register(ChargingPlan)
class ChargingPlanAdmin(ReadOnlyAdmin):
    list_display = [
        "goal",
        "created_at",
        "ready_at",
        "needed_wh",
        "delivered_wh",
        "cost_pence",
        "charge_now_cost_pence",
        "met",
        "delivery",
    ]
    list_filter = ["met", "delivery"]
    search_fields = ["goal__charger__charge_point_id"]
    date_hierarchy = "created_at"


class BatteryScheduleForm(_ServiceForm):
    clean_with = staticmethod(services.schedule_clean)
    service_fields = services.SCHEDULE_FIELDS

    class Meta:
        model = BatterySchedule
        fields = ["battery", *services.SCHEDULE_FIELDS]


@admin.register(BatterySchedule)
class BatteryScheduleAdmin(admin.ModelAdmin):
    form = BatteryScheduleForm
    list_display = ["battery", "enabled", "charge_limit_w", "discharge_limit_w", "target_soc_pct"]
    list_filter = ["enabled"]
    search_fields = ["battery__identifier"]
    raw_id_fields = ["battery"]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "battery"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.SCHEDULE_FIELDS}
        form.instance = services.schedule_set(battery=obj.battery, **data)


@admin.register(BatteryPlan)
class BatteryPlanAdmin(ReadOnlyAdmin):
    list_display = ["schedule", "created_at", "starts_at", "cost_pence", "met"]
    list_filter = ["met"]
    search_fields = ["schedule__battery__identifier"]
    date_hierarchy = "created_at"


class HouseholdForm(_ServiceForm):
    service_fields = ("import_limit_w",)

    class Meta:
        model = Household
        fields = ["account", "import_limit_w"]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    form = HouseholdForm
    list_display = ["account", "import_limit_w"]
    search_fields = ["account__account_number"]
    raw_id_fields = ["account"]

    def save_model(self, request, obj, form, change):
        form.instance = services.household_set(
            account=obj.account, import_limit_w=form.cleaned_data["import_limit_w"]
        )
