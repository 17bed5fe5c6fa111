"""Staff tools: devices (attach to meters, mapping overrides), their online history, dead letters
(inspect, retry), supervision alerts. Actions call services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from config.exceptions import ApplicationError, ServiceUnavailable

from . import services
from .models import Alert, DeadLetter, Device, DeviceTransition


class DeviceForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = ["topic", "meter", "mapping_overrides", "timezone", "tele_period_seconds"]

    def clean(self):
        cleaned = super().clean()
        try:
            services.device_attach_check(device=self.instance, meter=cleaned.get("meter"))
        except ApplicationError as exc:
            raise ValidationError({"meter": exc.message}) from exc
        return cleaned


class TransitionInline(admin.TabularInline):
    model = DeviceTransition
    fields = ["online", "at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ["-at"]
    can_delete = False


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("yes", "Attached to a meter"), ("no", "Unassigned")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(meter__isnull=False)
        if self.value() == "no":
            return queryset.filter(meter__isnull=True)
        return queryset


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceForm
    list_display = [
        "topic",
        "meter",
        "online",
        "last_sensor_at",
        "last_seen",
        "tele_period_seconds",
        "last_meter_number",
    ]
    list_filter = [AssignedFilter, "online"]
    search_fields = ["topic", "meter__meter_id", "last_meter_number"]
    raw_id_fields = ["meter"]
    readonly_fields = [
        "online",
        "online_changed_at",
        "last_seen",
        "last_sensor_at",
        "last_meter_number",
        "last_payload",
        "created_at",
    ]
    list_select_related = ["meter"]
    inlines = [TransitionInline]
    actions = ["detach", "retry_dead_letters"]

    @admin.action(description="Detach the selected devices from their meters")
    def detach(self, request, queryset):
        for device in queryset:
            services.device_attach(device=device, meter=None)
        self.message_user(request, f"{queryset.count()} device(s) detached.")

    @admin.action(description="Retry the dead letters of the selected devices")
    def retry_dead_letters(self, request, queryset):
        letters = list(DeadLetter.objects.filter(device__in=queryset))
        _retry(self, request, letters)


def _retry(model_admin, request, letters: list[DeadLetter]) -> None:
    if not letters:
        model_admin.message_user(request, "No dead letters to retry.", messages.WARNING)
        return
    try:
        report = services.dead_letters_retry(letters=letters)
    except ServiceUnavailable as exc:
        model_admin.message_user(request, str(exc.message), messages.ERROR)
        return
    model_admin.message_user(
        request,
        f"{len(letters)} retried: {report.count(services.STORED)} stored, "
        f"{report.count(services.DUPLICATE)} already stored, "
        f"{report.count(services.IGNORED)} ignored, {report.count(services.REJECTED)} rejected "
        "again (kept as dead letters).",
    )


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ["received_at", "topic", "code", "device", "reason"]
    list_filter = ["code"]
    search_fields = ["topic", "reason"]
    date_hierarchy = "received_at"
    fields = ["received_at", "topic", "code", "device", "reason", "payload_text"]
    readonly_fields = fields
    list_select_related = ["device"]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Retry the selected dead letters")
    def retry(self, request, queryset):
        _retry(self, request, list(queryset))


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["opened_at", "kind", "device", "message", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "device__topic"]
    readonly_fields = ["kind", "device", "message", "opened_at", "resolved_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
