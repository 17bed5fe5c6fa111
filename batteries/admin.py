"""Admin for the fleet: batteries with their state, alerts and instructions; rules; thresholds.

Creation and every action go through the services, so the admin obeys the same rules as the API.
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse

from accounts.postcodes import normalise_postcode
from config.exceptions import ApplicationError, InvalidInput, form_errors

from . import services
from .models import (
    AlertStatus,
    Battery,
    BatteryAlert,
    BatteryInstruction,
    InstructionAction,
    InstructionRule,
    ModelThresholds,
)

STATE_FIELDS = [
    "soc_percent", "power_kw", "voltage_v", "temperature_c", "status", "reported_flag", "flag",
    "last_seen",
]  # fmt: skip


class BatteryAlertInline(admin.TabularInline):
    model = BatteryAlert
    extra = 0
    fields = [
        "rule",
        "severity",
        "status",
        "message",
        "opened_at",
        "acknowledged_at",
        "resolved_at",
    ]
    readonly_fields = fields
    can_delete = False
    ordering = ["-opened_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # monitoring opens alerts


class BatteryInstructionInline(admin.TabularInline):
    model = BatteryInstruction
    extra = 0
    fields = [
        "created_at", "source", "rule", "action", "power_kw", "reserve_soc", "status",
        "expires_at", "detail",
    ]  # fmt: skip
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # use the "Send an instruction" action: it delivers over MQTT


class BatteryForm(forms.ModelForm):
    class Meta:
        model = Battery
        fields = [
            "account", "location", "postcode", "capacity_kwh", "ip_address", "vendor", "model",
            "min_soc_reserve", "max_soc_reserve",
        ]  # fmt: skip

    def clean_postcode(self) -> str:
        return normalise_postcode(self.cleaned_data["postcode"])

    def clean(self):
        """The service's rules, as the API meets them: it runs here in a rolled-back savepoint, so
        a refusal shows on its field instead of failing the save."""
        data = super().clean()
        if self.errors:
            return data
        try:
            with transaction.atomic():
                _save(self.instance, self)
                raise _DryRun
        except _DryRun:
            pass
        except InvalidInput as exc:
            for field, errors in exc.errors.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


class _DryRun(Exception):
    pass


def _save(battery: Battery, form: forms.ModelForm) -> Battery:
    """A new battery through battery_create, a change through battery_update (what changed)."""
    data = form.cleaned_data
    if battery._state.adding:  # not pk: the id is a UUID with a default, set before saving
        return services.battery_create(**{name: data[name] for name in BatteryForm.Meta.fields})
    changes = {name: data[name] for name in form.changed_data if name in services.BATTERY_CHANGES}
    return services.battery_update(battery=battery, **changes)


class InstructionForm(forms.Form):
    # Not "action": the admin's own POST field of that name picks the admin action.
    order = forms.ChoiceField(choices=InstructionAction.choices, label="Action")
    power_kw = forms.DecimalField(required=False, help_text="For charge and discharge.")
    reserve_soc = forms.DecimalField(required=False, help_text="For set reserve (%).")
    expires_in_minutes = forms.IntegerField(
        required=False, min_value=1, help_text="Default: BATTERIES_MANUAL_INSTRUCTION_TTL_MINUTES."
    )


@admin.register(Battery)
class BatteryAdmin(admin.ModelAdmin):
    form = BatteryForm
    list_display = [
        "identifier", "account", "location", "status", "flag", "soc_percent", "power_kw",
        "temperature_c", "voltage_v", "last_seen",
    ]  # fmt: skip
    list_filter = ["status", "flag", "vendor", "model"]
    search_fields = [
        "identifier", "postcode", "location", "account__account_number", "vendor", "model",
    ]  # fmt: skip
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["identifier", "created_at", *STATE_FIELDS]
    inlines = [BatteryAlertInline, BatteryInstructionInline]
    actions = ["send_instruction"]

    def get_fieldsets(self, request, obj=None):
        registry = (None, {"fields": BatteryForm.Meta.fields})
        if obj is None:
            return [registry]
        return [
            (None, {"fields": ["identifier", "created_at"]}),
            registry,
            ("Current state", {"fields": STATE_FIELDS}),
        ]

    def get_readonly_fields(self, request, obj=None):
        # The identifier names the capacity: a registered unit's capacity is fixed.
        return [*self.readonly_fields, "capacity_kwh"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        saved = _save(Battery.objects.get(pk=obj.pk) if change else Battery(), form)
        # The admin goes on with ``obj`` (its log entry, its redirect): make it the saved row.
        obj.pk, obj.identifier, obj._state.adding = saved.pk, saved.identifier, False
        if change:
            obj.refresh_from_db()

    def delete_model(self, request, obj):
        archive = services.battery_delete(battery=obj)
        messages.info(request, f"History of {obj.identifier} archived in {archive.folder}.")

    def delete_queryset(self, request, queryset):
        for battery in queryset:
            self.delete_model(request, battery)

    @admin.action(description="Send an instruction to the selected batteries")
    def send_instruction(self, request, queryset):
        form = InstructionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            sent = 0
            for battery in queryset:
                try:
                    parameters = dict(form.cleaned_data)
                    services.instruction_issue_manual(
                        battery=battery,
                        requested_by=request.user,
                        action=parameters.pop("order"),
                        **parameters,
                    )
                    sent += 1
                except ApplicationError as exc:
                    text = "; ".join(getattr(exc, "messages", [str(exc)]))
                    self.message_user(request, f"{battery}: {text}", messages.ERROR)
                    return None
            self.message_user(request, f"Instruction issued to {sent} batteries.")
            return None
        return TemplateResponse(
            request,
            "batteries/admin/send_instruction.html",
            {
                **self.admin_site.each_context(request),
                "title": "Send an instruction",
                "form": form,
                "batteries": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(BatteryAlert)
class BatteryAlertAdmin(admin.ModelAdmin):
    list_display = ["battery", "rule", "severity", "status", "opened_at", "resolved_at"]
    list_filter = ["status", "severity", "rule"]
    search_fields = ["battery__identifier", "message"]
    list_select_related = ["battery"]
    readonly_fields = [
        "battery", "rule", "severity", "status", "message", "opened_at", "acknowledged_at",
        "acknowledged_by", "resolved_at",
    ]  # fmt: skip
    actions = ["acknowledge"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Acknowledge the selected alerts")
    def acknowledge(self, request, queryset):
        alerts = queryset.filter(status=AlertStatus.OPEN)
        count = 0
        for alert in alerts:
            services.alert_acknowledge(alert=alert, by=request.user)
            count += 1
        self.message_user(request, f"{count} alerts acknowledged.")


@admin.register(BatteryInstruction)
class BatteryInstructionAdmin(admin.ModelAdmin):
    """The audit trail: read-only."""

    list_display = [
        "created_at", "battery", "source", "rule", "action", "power_kw", "reserve_soc", "status",
        "expires_at",
    ]  # fmt: skip
    list_filter = ["status", "source", "action"]
    search_fields = ["battery__identifier", "rule__name", "detail"]
    list_select_related = ["battery", "rule"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InstructionRuleForm(forms.ModelForm):
    class Meta:
        model = InstructionRule
        fields = list(services.RULE_FIELDS)

    def _post_clean(self):
        super()._post_clean()
        if not self.errors:
            try:
                services.rule_clean(self.instance)
            except InvalidInput as exc:
                self._update_errors(form_errors(exc))


@admin.register(InstructionRule)
class InstructionRuleAdmin(admin.ModelAdmin):
    form = InstructionRuleForm
    list_display = ["name", "enabled", "priority", "action", "power_kw", "reserve_soc"]
    list_filter = ["enabled", "action"]
    search_fields = ["name", "identifier_prefix", "battery__identifier"]
    autocomplete_fields = ["battery", "account"]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "priority"]}),
        ("Applies to (exactly one)", {"fields": ["battery", "account", "identifier_prefix"]}),
        (
            "Conditions (blank: always holds)",
            {
                "fields": [
                    "soc_above",
                    "soc_below",
                    "window_start",
                    "window_end",
                    "tariff_window",
                    "temperature_below",
                    "only_without_alerts",
                ]
            },
        ),
        ("Action", {"fields": ["action", "power_kw", "reserve_soc"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.rule_save(rule=obj)

    def delete_model(self, request, obj):
        services.rule_delete(rule=obj)


@admin.register(ModelThresholds)
class ModelThresholdsAdmin(admin.ModelAdmin):
    list_display = ["vendor", "model", "rated_power_kw", "voltage_min_v", "voltage_max_v"]
    search_fields = ["vendor", "model"]
