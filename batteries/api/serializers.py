from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.models import CustomerAccount
from config import api_fields as fields

from ..models import (
    Battery,
    BatteryAlert,
    BatteryFlag,
    BatteryInstruction,
    BatteryStatus,
    InstructionAction,
    InstructionRule,
    TariffWindow,
)


class BatteryInput(serializers.Serializer):
    account = serializers.SlugRelatedField(
        slug_field="account_number",
        queryset=CustomerAccount.objects.all(),
        help_text="The customer account's number.",
    )
    location = serializers.CharField(max_length=200)
    postcode = serializers.CharField(max_length=10)
    capacity_kwh = fields.DecimalField(max_digits=6, decimal_places=2)
    vendor = serializers.CharField(max_length=100)
    model = serializers.CharField(max_length=100)
    ip_address = serializers.IPAddressField(required=False, allow_null=True)
    min_soc_reserve = fields.DecimalField(max_digits=5, decimal_places=2, required=False)
    max_soc_reserve = fields.DecimalField(max_digits=5, decimal_places=2, required=False)


class BatteryUpdateInput(serializers.Serializer):
    """A partial change of a registered unit: only the fields given change. The identifier, and
    the capacity it names, are fixed."""

    account = serializers.SlugRelatedField(
        slug_field="account_number",
        queryset=CustomerAccount.objects.all(),
        required=False,
        help_text="The customer account's number.",
    )
    location = serializers.CharField(max_length=200, required=False)
    postcode = serializers.CharField(max_length=10, required=False)
    vendor = serializers.CharField(max_length=100, required=False)
    model = serializers.CharField(max_length=100, required=False)
    ip_address = serializers.IPAddressField(required=False, allow_null=True)
    min_soc_reserve = fields.DecimalField(max_digits=5, decimal_places=2, required=False)
    max_soc_reserve = fields.DecimalField(max_digits=5, decimal_places=2, required=False)

    def validate(self, attrs):
        if unknown := set(self.initial_data) - set(self.fields):
            raise serializers.ValidationError(
                {name: ["This field cannot be changed."] for name in sorted(unknown)}
            )
        return attrs


STATUS_HELP = "idle, charging, discharging or offline."
FLAG_HELP = "ok, warning or error."


class BatteryOutput(fields.ModelSerializer):
    account = serializers.CharField(source="account.account_number")
    # Plain strings in the schema: several models have a "status", each with its own choices.
    status = serializers.CharField(help_text=STATUS_HELP)
    flag = serializers.CharField(help_text=FLAG_HELP)
    reported_flag = serializers.CharField(help_text=FLAG_HELP)

    class Meta:
        model = Battery
        fields = [
            "id", "identifier", "account", "location", "postcode", "capacity_kwh", "ip_address",
            "vendor", "model", "min_soc_reserve", "max_soc_reserve", "soc_percent", "power_kw",
            "voltage_v", "temperature_c", "status", "reported_flag", "flag", "last_seen",
            "created_at",
        ]  # fmt: skip


class BatteryFilterInput(serializers.Serializer):
    identifier = serializers.CharField(required=False, help_text="Identifier prefix, any case.")
    location = serializers.CharField(required=False, help_text="Location prefix, any case.")
    status = serializers.ChoiceField(
        choices=BatteryStatus.choices, required=False, help_text=STATUS_HELP
    )
    flag = serializers.ChoiceField(choices=BatteryFlag.choices, required=False, help_text=FLAG_HELP)
    account = serializers.CharField(required=False, help_text="Account number.")


class CountOutput(serializers.Serializer):
    count = serializers.IntegerField()


@extend_schema_serializer(component_name="BatteryArchiveOutput")  # meters has an ArchiveOutput
class ArchiveOutput(serializers.Serializer):
    deleted_batteries = serializers.IntegerField()
    archived_readings = serializers.IntegerField()
    archived_alerts = serializers.IntegerField()
    archived_instructions = serializers.IntegerField()
    archive_folder = serializers.CharField()

    @staticmethod
    def of(archive) -> dict:
        return {
            "deleted_batteries": archive.batteries,
            "archived_readings": archive.readings,
            "archived_alerts": archive.alerts,
            "archived_instructions": archive.instructions,
            "archive_folder": str(archive.folder),
        }


class TelemetryInput(serializers.Serializer):
    """One reading. Validated by the telemetry service (the same rules as MQTT)."""

    timestamp = fields.DateTimeField(
        plausible=True,
        required=False,
        help_text="Default: now. Without an offset: Europe/London. Not before "
        "INPUT_EARLIEST_DATETIME, nor ahead of the server's clock by more than the allowed skew.",
    )
    soc_percent = fields.DecimalField(max_digits=5, decimal_places=2, help_text="0-100.")
    power_kw = fields.DecimalField(
        max_digits=8, decimal_places=3, help_text="+ discharging, - charging."
    )
    voltage_v = fields.DecimalField(max_digits=7, decimal_places=2, help_text=">= 0.")
    temperature_c = fields.DecimalField(max_digits=5, decimal_places=2, help_text="-50 to 100.")
    status = serializers.CharField(help_text=STATUS_HELP)
    flag = serializers.CharField(required=False, help_text=f"{FLAG_HELP} Default ok.")


class TelemetryTimeInput(serializers.Serializer):
    """The reading's time, checked at the door by the API's one datetime rule before the
    telemetry service checks the values (the same service MQTT calls)."""

    timestamp = fields.DateTimeField(plausible=True)


class BulkTelemetryItem(TelemetryInput):
    battery = serializers.CharField(help_text="The battery's UUID or identifier.")


class BulkTelemetryInput(serializers.Serializer):
    readings = BulkTelemetryItem(many=True)


class IngestOutput(serializers.Serializer):
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()


class HistoryQuery(serializers.Serializer):
    start = fields.DateTimeField(required=False, help_text="Default: end - 24 h.")
    end = fields.DateTimeField(required=False, help_text="Default: now. Exclusive.")
    after = fields.DateTimeField(
        required=False, help_text="Only readings after this (the previous page's next_after)."
    )
    bucket = serializers.IntegerField(
        required=False, help_text="Downsample: average per bucket of this many seconds (>= 60)."
    )
    limit = serializers.IntegerField(required=False, default=1000, help_text="1-10000.")


class HistoryPoint(serializers.Serializer):
    at = fields.DateTimeField(help_text="Reading time, or the bucket's start.")
    soc_percent = fields.DecimalField(max_digits=7, decimal_places=2)
    power_kw = fields.DecimalField(max_digits=10, decimal_places=3)
    voltage_v = fields.DecimalField(max_digits=9, decimal_places=2)
    temperature_c = fields.DecimalField(max_digits=7, decimal_places=2)
    status = serializers.CharField(required=False, help_text="Raw readings only.")
    flag = serializers.CharField(required=False, help_text="Raw readings only.")
    temperature_max_c = fields.DecimalField(
        max_digits=7, decimal_places=2, required=False, help_text="Buckets only."
    )
    readings = serializers.IntegerField(required=False, help_text="Buckets only.")


class HistoryOutput(serializers.Serializer):
    battery = serializers.UUIDField()
    bucket_seconds = serializers.IntegerField(allow_null=True)
    next_after = fields.DateTimeField(
        allow_null=True, help_text="Pass as after= for the next page; null at the end."
    )
    points = HistoryPoint(many=True)


class AlertOutput(fields.ModelSerializer):
    status = serializers.CharField(help_text="open, acknowledged or resolved.")

    class Meta:
        model = BatteryAlert
        fields = [
            "id", "rule", "severity", "status", "message", "opened_at", "acknowledged_at",
            "resolved_at",
        ]  # fmt: skip


class InstructionInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=InstructionAction.choices)
    power_kw = fields.DecimalField(max_digits=7, decimal_places=3, required=False, allow_null=True)
    reserve_soc = fields.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True
    )
    expires_in_minutes = serializers.IntegerField(required=False, min_value=1)


class InstructionOutput(fields.ModelSerializer):
    rule = serializers.CharField(source="rule.name", allow_null=True, default=None)
    status = serializers.CharField(
        help_text="pending, sent, acknowledged, rejected, expired, failed or superseded."
    )

    class Meta:
        model = BatteryInstruction
        fields = [
            "id", "source", "rule", "action", "power_kw", "reserve_soc", "status", "created_at",
            "expires_at", "sent_at", "refreshed_at", "answered_at", "finished_at", "detail",
        ]  # fmt: skip


class RuleInput(serializers.Serializer):
    """Scope: exactly one of battery, account, identifier_prefix. A blank condition always holds;
    windows are local time and may wrap past midnight. charge/discharge need power_kw,
    set_reserve needs reserve_soc."""

    name = serializers.CharField(max_length=100)
    enabled = serializers.BooleanField(required=False, default=True)
    priority = serializers.IntegerField(required=False, default=0, help_text="Higher wins.")
    battery = serializers.CharField(
        required=False, allow_null=True, help_text="The battery's UUID or identifier."
    )
    account = serializers.SlugRelatedField(
        slug_field="account_number",
        queryset=CustomerAccount.objects.all(),
        required=False,
        allow_null=True,
        help_text="Account number: the rule applies to each of its batteries.",
    )
    identifier_prefix = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="", help_text="e.g. N1-"
    )
    soc_above = fields.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    soc_below = fields.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    window_start = serializers.TimeField(required=False, allow_null=True)
    window_end = serializers.TimeField(required=False, allow_null=True)
    tariff_window = serializers.ChoiceField(
        choices=TariffWindow.choices, required=False, allow_blank=True, default=""
    )
    temperature_below = fields.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True
    )
    only_without_alerts = serializers.BooleanField(required=False, default=False)
    action = serializers.ChoiceField(choices=InstructionAction.choices)
    power_kw = fields.DecimalField(max_digits=7, decimal_places=3, required=False, allow_null=True)
    reserve_soc = fields.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True
    )


class RuleOutput(fields.ModelSerializer):
    battery = serializers.SlugRelatedField(slug_field="identifier", read_only=True, allow_null=True)
    account = serializers.SlugRelatedField(
        slug_field="account_number", read_only=True, allow_null=True
    )

    class Meta:
        model = InstructionRule
        fields = [
            "id", "name", "enabled", "priority", "battery", "account", "identifier_prefix",
            "soc_above", "soc_below", "window_start", "window_end", "tariff_window",
            "temperature_below", "only_without_alerts", "action", "power_kw", "reserve_soc",
        ]  # fmt: skip
