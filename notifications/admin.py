"""Webhook endpoints (staff register them here), the delivery log, and the events."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from config.exceptions import InvalidInput, form_errors

from . import services
from .forms import WebhookEndpointForm
from .models import Event, WebhookDelivery, WebhookEndpoint


class _CheckedEndpointForm(WebhookEndpointForm):
    def clean(self):
        data = super().clean()
        try:
            services.webhook_endpoint_check(
                name=data.get("name", ""), url=data.get("url", ""), kinds=data.get("kinds", [])
            )
        except InvalidInput as exc:
            raise form_errors(exc) from exc
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = _CheckedEndpointForm
    list_display = ["name", "url", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]

    def save_model(self, request, obj, form, change):
        try:
            services.webhook_endpoint_save(endpoint=obj, by=request.user)
        except InvalidInput as exc:
            raise ValidationError(exc.messages) from exc


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event",
        "endpoint",
        "state",
        "attempts",
        "response_status",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["state", "endpoint"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Try the selected failed deliveries again")
    def retry(self, request, queryset):
        for delivery in queryset:
            services.webhook_delivery_retry(delivery=delivery)
        messages.success(request, "Failed deliveries are queued again.")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "account", "dispatched_at"]
    list_filter = ["kind"]
    readonly_fields = [field.name for field in Event._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
