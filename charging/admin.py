"""Staff's view of chargers: live state, the frame log per charger, and actions that send the
common operations (through the same service as the API)."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from config.admin import KeptRecordAdminMixin
from config.exceptions import ApplicationError

from . import services
from .admin_forms import ChargingProfileForm, ConnectorActionForm, ReservationForm
from .models import (
    Anomaly,
    Charger,
    ChargerCommand,
    ChargingProfile,
    CommandStatus,
    Connector,
    IdTag,
    LocalAuthListEntry,
    MeterValue,
    OcppMessage,
    Registration,
    Reservation,
    StatusNotification,
    Transaction,
)


class ConnectorInline(admin.TabularInline):
    model = Connector
    extra = 0
    can_delete = False
    readonly_fields = [
        "connector_id",
        "status",
        "error_code",
        "info",
        "status_at",
        "live_power_w",
        "live_energy_kwh",
        "live_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


def _checked(validate, value):
    """``value`` once the service's ``validate`` passes it; its refusal as a form error."""
    try:
        validate(value)
    except ApplicationError as error:
        raise forms.ValidationError(error.message) from None
    return value


def _connector_states(charger: Charger) -> str:
    """ "1: Charging, 2: Available" from the prefetched connectors (0 is the charger itself)."""
    return ", ".join(
        f"{connector.connector_id}: {connector.status}"
        for connector in charger.connectors.all()
        if connector.connector_id
    )


class ChargerForm(forms.ModelForm):
    new_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="HTTP Basic password for security profile 1; stored hashed. Blank: unchanged.",
    )

    class Meta:
        model = Charger
        fields = ["charge_point_id", "account", "registration"]

    def clean_charge_point_id(self):
        return _checked(services.charge_point_id_validate, self.cleaned_data["charge_point_id"])

    def clean_new_password(self):
        password = self.cleaned_data["new_password"]
        return _checked(services.charger_password_validate, password) if password else password

    def clean(self):
        cleaned = super().clean()
        has_password = bool(cleaned.get("new_password") or self.instance.password_hash)
        if cleaned.get("registration") == Registration.ACCEPTED and not has_password:
            self.add_error("new_password", services.UNAUTHENTICATED_ACCEPT_REFUSED)
        return cleaned


class _DryRun(Exception):
    pass


def _send(modeladmin, request, queryset, operation: str, payload: dict) -> None:
    sent = offline = 0
    for charger in queryset:
        try:
            command = services.command_create(
                charger=charger, operation=operation, payload=payload, requested_by=request.user
            )
        except ApplicationError as error:
            modeladmin.message_user(request, f"{charger}: {error.message}", messages.ERROR)
            continue
        if command.status == "offline":
            offline += 1
        else:
            sent += 1
    modeladmin.message_user(
        request,
        f"{operation} sent to {sent} charger(s); {offline} offline. Outcomes are in Commands.",
        messages.SUCCESS if sent else messages.WARNING,
    )


@admin.register(Charger)
class ChargerAdmin(admin.ModelAdmin):
    form = ChargerForm
    list_display = [
        "charge_point_id",
        "account",
        "registration",
        "connected",
        "connector_status",
        "last_message_at",
        "station",
        "message_log",
    ]
    list_select_related = ["account"]
    list_filter = ["registration", "connected", "vendor"]
    search_fields = ["charge_point_id", "serial_number", "account__account_number"]
    autocomplete_fields = ["account"]
    inlines = [ConnectorInline]
    readonly_fields = [
        "connected",
        "remote_address",
        "connected_at",
        "disconnected_at",
        "last_message_at",
        "last_heartbeat_at",
        "booted_at",
        "vendor",
        "model",
        "serial_number",
        "box_serial_number",
        "firmware_version",
        "iccid",
        "imsi",
        "meter_type",
        "meter_serial_number",
        "heartbeat_interval",
        "diagnostics_status",
        "firmware_status",
        "local_list_version",
        "message_log",
    ]
    actions = [
        "accept",
        "reject",
        "reset_soft",
        "reset_hard",
        "clear_cache",
        "trigger_status",
        "get_configuration",
        "make_available",
        "make_unavailable",
        "unlock_connector",
    ]
    action_form = ConnectorActionForm

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("connectors")

    @admin.display(description="connectors")
    def connector_status(self, charger):
        return _connector_states(charger) or "-"

    @admin.display(description="station", ordering="vendor")
    def station(self, charger):
        """Vendor, model and firmware in one column, so the list fits a laptop's width."""
        name = " ".join(part for part in (charger.vendor, charger.model) if part)
        firmware = f" (firmware {charger.firmware_version})" if charger.firmware_version else ""
        return f"{name}{firmware}" or "-"

    @admin.display(description="frame log")
    def message_log(self, charger):
        url = reverse("admin:charging_ocppmessage_changelist") + f"?charger__id__exact={charger.pk}"
        return format_html('<a href="{}">messages</a>', url)

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.charger_register(
                charge_point_id=obj.charge_point_id,
                password=form.cleaned_data.get("new_password", ""),
                account=obj.account,
                registration=obj.registration,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        # The API's service: a registration change goes through charger_set_registration, so an
        # accepted, connected charger is sent its TriggerMessage.
        changes = {"account": obj.account, "registration": obj.registration}
        if form.cleaned_data.get("new_password"):
            changes["password"] = form.cleaned_data["new_password"]
        try:
            services.charger_update(charger=obj, requested_by=request.user, **changes)
        except ApplicationError as error:
            self.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        obj.refresh_from_db()

    def delete_view(self, request, object_id, extra_context=None):
        """Deletion keeps charger_delete's rule (a connected or referred-to charger is retired,
        not deleted): checked before the admin's confirmation goes ahead."""
        charger = self.get_object(request, object_id)
        if request.method == "POST" and charger is not None:
            try:
                with transaction.atomic():
                    services.charger_delete(charger=charger)
                    raise _DryRun
            except _DryRun:
                pass
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
                return redirect("admin:charging_charger_change", charger.pk)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.charger_delete(charger=obj)

    def delete_queryset(self, request, queryset):
        for charger in queryset:
            try:
                services.charger_delete(charger=charger)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)

    def get_readonly_fields(self, request, obj=None):
        # The identity is what the charger connects with; it never changes once registered.
        return [*self.readonly_fields, "charge_point_id"] if obj else self.readonly_fields

    @admin.action(description="Accept registration (at the next boot)")
    def accept(self, request, queryset):
        for charger in queryset:
            try:
                services.charger_set_registration(
                    charger=charger, registration=Registration.ACCEPTED, requested_by=request.user
                )
            except ApplicationError as exc:
                self.message_user(request, f"{charger}: {exc.message}", messages.ERROR)
        self.message_user(
            request, "Accepted; connected chargers were asked to boot again to learn it."
        )

    @admin.action(description="Reject registration")
    def reject(self, request, queryset):
        for charger in queryset:
            services.charger_set_registration(charger=charger, registration=Registration.REJECTED)
        self.message_user(request, "Rejected.")

    @admin.action(description="Reset (soft)")
    def reset_soft(self, request, queryset):
        _send(self, request, queryset, "Reset", {"type": "Soft"})

    @admin.action(description="Reset (hard)")
    def reset_hard(self, request, queryset):
        _send(self, request, queryset, "Reset", {"type": "Hard"})

    @admin.action(description="Clear authorization cache")
    def clear_cache(self, request, queryset):
        _send(self, request, queryset, "ClearCache", {})

    @admin.action(description="Ask for StatusNotification")
    def trigger_status(self, request, queryset):
        _send(self, request, queryset, "TriggerMessage", {"requestedMessage": "StatusNotification"})

    @admin.action(description="Read configuration")
    def get_configuration(self, request, queryset):
        _send(self, request, queryset, "GetConfiguration", {})

    @admin.action(description="Make available (all connectors)")
    def make_available(self, request, queryset):
        _send(
            self, request, queryset, "ChangeAvailability", {"connectorId": 0, "type": "Operative"}
        )

    @admin.action(description="Make unavailable (all connectors)")
    def make_unavailable(self, request, queryset):
        _send(
            self, request, queryset, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}
        )

    @admin.action(description="Unlock connector (number beside the action)")
    def unlock_connector(self, request, queryset):
        """UnlockConnector (1.6: connectorId; the service sends a 2.0.1 station its evseId)."""
        connector = request.POST.get("connector_id", "").strip()
        if not connector.isdigit():
            self.message_user(
                request, "Unlock connector: enter the connector's number.", messages.ERROR
            )
            return
        _send(self, request, queryset, "UnlockConnector", {"connectorId": int(connector)})


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OcppMessage)
class OcppMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "charge_point_id", "direction", "message_type", "action", "frame"]
    list_filter = ["direction", "message_type", "action"]
    search_fields = ["charge_point_id", "unique_id"]
    raw_id_fields = ["charger"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ChargerCommand)
class ChargerCommandAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "charger", "operation", "status", "error_code", "requested_by"]
    list_filter = ["status", "operation"]
    search_fields = ["charger__charge_point_id"]
    raw_id_fields = ["charger", "requested_by"]


class IdTagForm(forms.ModelForm):
    class Meta:
        model = IdTag
        fields = [
            "id_tag",
            "account",
            "parent",
            "expires_at",
            "blocked",
            "max_concurrent_transactions",
        ]

    def clean_id_tag(self):
        return _checked(services.id_token_validate, self.cleaned_data["id_tag"])


@admin.register(IdTag)
class IdTagAdmin(admin.ModelAdmin):
    form = IdTagForm
    list_display = ["id_tag", "account", "parent", "expires_at", "blocked"]
    list_filter = ["blocked"]
    search_fields = ["id_tag", "account__account_number"]
    autocomplete_fields = ["account", "parent"]


@admin.register(Transaction)
class TransactionAdmin(KeptRecordAdminMixin, ReadOnlyAdmin):
    instead_of_deleting = (
        "Charging sessions are kept for audit: bills, prices and meter values refer to them."
    )
    list_display = [
        "id",
        "charger",
        "connector_id",
        "id_tag",
        "account",
        "started_at",
        "stopped_at",
        "energy_kwh",
        "stop_reason",
    ]
    list_filter = ["stop_reason", "authorization_status"]
    search_fields = ["=id", "id_tag", "charger__charge_point_id"]
    raw_id_fields = ["charger", "tag", "account"]
    date_hierarchy = "started_at"


@admin.register(MeterValue)
class MeterValueAdmin(ReadOnlyAdmin):
    list_display = ["sampled_at", "charger", "connector_id", "measurand", "phase", "value", "unit"]
    list_filter = ["measurand", "unit"]
    raw_id_fields = ["charger", "transaction"]
    show_full_result_count = False


@admin.register(StatusNotification)
class StatusNotificationAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "charger", "connector_id", "status", "error_code", "info"]
    list_filter = ["status", "error_code"]
    raw_id_fields = ["charger"]


@admin.register(Anomaly)
class AnomalyAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "charger", "kind", "transaction", "detail"]
    list_filter = ["kind"]
    raw_id_fields = ["charger", "transaction"]


class CommandAddAdmin(ReadOnlyAdmin):
    """Added through the form's command (ReserveNow, SetChargingProfile) with the API's service;
    what the charger holds stays read-only here."""

    autocomplete_fields = ["charger"]

    def has_add_permission(self, request):
        return admin.ModelAdmin.has_add_permission(self, request)  # the user's add permission

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:  # viewing what the charger holds: the model's own fields
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        request._charger_command = command = form.command_send(requested_by=request.user)
        obj.pk = self.created_pk(command)
        if obj.pk is not None:
            obj.refresh_from_db()

    def created_pk(self, command: ChargerCommand) -> int | None:
        return None

    def save_related(self, request, form, formsets, change):
        pass

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            return super().log_addition(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        command = request._charger_command
        self.message_user(
            request,
            f"{command.operation} for {command.charger}: {command.get_status_display()}. "
            "The charger's answer is in Commands.",
            messages.WARNING if command.status == CommandStatus.OFFLINE else messages.SUCCESS,
        )
        return redirect("admin:charging_chargercommand_change", command.pk)


@admin.register(Reservation)
class ReservationAdmin(CommandAddAdmin):
    form = ReservationForm
    list_display = ["id", "charger", "connector_id", "id_tag", "expires_at", "status"]
    list_filter = ["status"]
    list_select_related = ["charger"]

    def created_pk(self, command):
        return command.payload.get("reservationId", command.payload.get("id"))


@admin.register(ChargingProfile)
class ChargingProfileAdmin(CommandAddAdmin):
    """A profile row appears once the charger accepts SetChargingProfile."""

    form = ChargingProfileForm
    list_display = ["charger", "connector_id", "profile_id", "stack_level", "purpose", "kind"]
    list_select_related = ["charger"]


@admin.register(LocalAuthListEntry)
class LocalAuthListEntryAdmin(ReadOnlyAdmin):
    list_display = ["charger", "id_tag", "status", "expires_at", "parent_id_tag"]
