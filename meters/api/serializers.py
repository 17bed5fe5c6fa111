from datetime import UTC
from decimal import ROUND_HALF_EVEN

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import CustomerAccount
from config import api_fields as fields
from config.api_fields import LocalDateTimeField
from config.inputs import InputError, month_plausible
from meters.models import (
    KWH_DIGITS,
    KWH_PLACES,
    DailyUsage,
    Meter,
    MeterKind,
    Reading,
    ReadingCorrection,
    ReadingQuality,
    Reception,
    ReceptionChange,
)
from meters.services import BULK_MAX_ITEMS


class MeterOutput(fields.ModelSerializer):
    account_number = serializers.CharField(source="account.account_number", read_only=True)

    class Meta:
        model = Meter
        fields = [
            "meter_id",
            "account_number",
            "address",
            "postcode",
            "area",
            "region",
            "dwelling_type",
            "kind",
            "timezone",
            "status",
            "last_seen",
            "created_at",
            "updated_at",
        ]


class MeterInput(serializers.Serializer):
    meter_id = serializers.CharField(max_length=64)
    account_number = serializers.SlugRelatedField(
        slug_field="account_number", queryset=CustomerAccount.objects.all(), source="account"
    )
    kind = serializers.ChoiceField(choices=MeterKind.choices, default=MeterKind.INTERVAL)
    address = serializers.CharField(required=False, help_text="Default: the account's address.")
    postcode = serializers.CharField(required=False, help_text="Default: the account's.")
    timezone = serializers.CharField(required=False, help_text="IANA name; default Europe/London.")


class ReadingOutput(fields.ModelSerializer):
    meter_id = serializers.CharField(source="meter.meter_id", read_only=True)

    class Meta:
        model = Reading
        fields = [
            "meter_id",
            "at",
            "import_kwh",
            "export_kwh",
            "power_w",
            "power_l1_w",
            "power_l2_w",
            "power_l3_w",
            "source",
            "quality",
            "register_reset",
            "export_register_reset",
        ]


def register_field(**kwargs) -> fields.DecimalField:
    """A register in kWh: rounded to the stored places (a reading head reports more), bounded to
    the column."""
    return fields.DecimalField(
        max_digits=KWH_DIGITS, decimal_places=KWH_PLACES, rounding=ROUND_HALF_EVEN, **kwargs
    )


class ReadingInput(serializers.Serializer):
    at = LocalDateTimeField(
        help_text="ISO 8601. Without an offset it is read in the meter's time zone; a local time "
        "that does not exist or occurs twice (DST changes) is refused. Interval meters: :00 or "
        ":30 with zero seconds."
    )
    import_kwh = register_field(help_text="Import register, kWh (not negative).")
    export_kwh = register_field(required=False, allow_null=True)
    power_w = fields.FloatField(required=False, allow_null=True)
    power_l1_w = fields.FloatField(required=False, allow_null=True)
    power_l2_w = fields.FloatField(required=False, allow_null=True)
    power_l3_w = fields.FloatField(required=False, allow_null=True)
    quality = serializers.ChoiceField(choices=ReadingQuality.choices, default="actual")
    register_reset = serializers.BooleanField(
        default=False,
        help_text="The import register was reset (or the meter exchanged): it may go down, and "
        "the interval ending here counts no import energy.",
    )
    export_register_reset = serializers.BooleanField(
        required=False,
        help_text="The export register was reset: it may go down, and the interval ending here "
        "counts no export energy (its import still counts). Omitted: the same as "
        "register_reset (a meter exchange resets both). Needs export_kwh.",
    )


class BulkReadingItem(ReadingInput):
    meter_id = serializers.CharField()


class BulkInput(serializers.Serializer):
    readings = BulkReadingItem(many=True, help_text=f"At most {BULK_MAX_ITEMS} items.")


class ItemResultOutput(serializers.Serializer):
    index = serializers.IntegerField()
    meter_id = serializers.CharField()
    at = fields.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected", "skipped"])
    code = serializers.CharField(
        required=False, help_text="When rejected: unknown_meter, conflict or invalid."
    )
    field = serializers.CharField(required=False, help_text="The input field a rule is about.")
    reason = serializers.CharField(required=False, help_text="Why it was rejected or skipped.")


class BulkOutput(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = ItemResultOutput(many=True)


class ReceptionOutput(fields.ModelSerializer):
    changed_by = serializers.CharField(source="changed_by.email", default=None, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Reception
        fields = ["is_open", "paused", "maintenance", "reason", "changed_by", "changed_at"]


class ReceptionChangeOutput(fields.ModelSerializer):
    changed_by = serializers.CharField(source="changed_by.email", default=None, allow_null=True)

    class Meta:
        model = ReceptionChange
        fields = ["paused", "maintenance", "reason", "changed_by", "changed_at"]


class ReceptionInput(serializers.Serializer):
    paused = serializers.BooleanField(required=False)
    maintenance = serializers.BooleanField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class DailyUsageOutput(fields.ModelSerializer):
    class Meta:
        model = DailyUsage
        fields = [
            "day",
            "import_kwh",
            "export_kwh",
            "readings",
            "intervals_expected",
            "has_gap",
            "is_partial",
        ]


# --- Queries ----------------------------------------------------------------------------------


class RawReadingsQuery(serializers.Serializer):
    start = LocalDateTimeField(required=False)
    end = LocalDateTimeField(required=False)
    after = LocalDateTimeField(required=False)
    max_points = serializers.IntegerField(required=False, min_value=2, max_value=100_000)


class ConsumptionQuery(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=["last_30min", "today", "this_week", "this_month", "last_month"], required=False
    )
    to = LocalDateTimeField(required=False, help_text="Inclusive: a reading at `to` counts.")

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields = super().get_fields()
        fields["from"] = LocalDateTimeField(required=False, help_text="Inclusive.")
        return fields


class ReadingPoint(serializers.Serializer):
    at = fields.DateTimeField()
    import_kwh = fields.DecimalField(max_digits=14, decimal_places=4)


class ConsumptionOutput(serializers.Serializer):
    meter_id = serializers.CharField()
    period = serializers.CharField()
    start = fields.DateTimeField()
    end = fields.DateTimeField()
    start_reading = ReadingPoint()
    end_reading = ReadingPoint()
    consumption_kwh = fields.DecimalField(max_digits=14, decimal_places=4)
    readings = serializers.IntegerField()
    is_complete = serializers.BooleanField()


class SeriesQuery(serializers.Serializer):
    period_from = LocalDateTimeField(help_text="Inclusive.")
    period_to = LocalDateTimeField(help_text="Exclusive.")
    group_by = serializers.ChoiceField(
        choices=["half_hour", "hour", "day", "week", "month"], default="half_hour"
    )
    order_by = serializers.ChoiceField(choices=["period", "-period"], default="period")


class SeriesRow(serializers.Serializer):
    interval_start = fields.DateTimeField()
    interval_end = fields.DateTimeField()
    consumption = fields.DecimalField(max_digits=14, decimal_places=4)


class RangeQuery(serializers.Serializer):
    start = LocalDateTimeField()
    end = LocalDateTimeField()


class StatsOutput(serializers.Serializer):
    meter_id = serializers.CharField()
    # In UTC: before 1847 London's offset was -00:01:15, which RFC 3339 cannot write.
    start = fields.DateTimeField(default_timezone=UTC)
    end = fields.DateTimeField(default_timezone=UTC)
    readings = serializers.IntegerField()
    energy_kwh = fields.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    min_power_w = fields.FloatField(allow_null=True)
    max_power_w = fields.FloatField(allow_null=True)
    avg_power_w = fields.FloatField(allow_null=True)


class SummaryQuery(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=366, default=30)


class SummaryDay(serializers.Serializer):
    day = serializers.DateField()
    import_kwh = fields.DecimalField(max_digits=14, decimal_places=4)
    export_kwh = fields.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    is_partial = serializers.BooleanField()
    moving_average_30d_kwh = fields.DecimalField(
        max_digits=14,
        decimal_places=4,
        allow_null=True,
        help_text="Average of the complete days among the 30 ending with this one.",
    )


class SummaryOutput(serializers.Serializer):
    meter_id = serializers.CharField()
    days = SummaryDay(many=True)
    average_daily_kwh_last_year = fields.DecimalField(
        max_digits=14, decimal_places=4, allow_null=True
    )
    moving_average_30d_kwh = fields.DecimalField(max_digits=14, decimal_places=4, allow_null=True)


class AggregatesQuery(serializers.Serializer):
    start = serializers.DateField(help_text="First local day, inclusive.")
    end = serializers.DateField(help_text="Last local day, exclusive.")
    group_by = serializers.ChoiceField(
        choices=["region", "area", "dwelling_type"], default="region"
    )
    resolution = serializers.ChoiceField(choices=["day", "month"], default="month")


class AggregateRow(serializers.Serializer):
    group = serializers.CharField()
    period = serializers.DateField()
    meters = serializers.IntegerField()
    total_kwh = fields.DecimalField(max_digits=18, decimal_places=4)
    average_kwh_per_meter = fields.DecimalField(max_digits=18, decimal_places=4)


class ArchiveOutput(serializers.Serializer):
    kind = serializers.CharField()
    period_start = serializers.DateField()
    path = serializers.CharField()
    sha256 = serializers.CharField()
    rows = serializers.IntegerField()
    created_at = fields.DateTimeField()


@extend_schema_field({"type": "string", "pattern": "^(daily|monthly)$"})
class ArchiveKindField(serializers.ChoiceField):
    """A plain string in the schema, so the meters' ``kind`` enum keeps its plain name."""

    def __init__(self, **kwargs):
        super().__init__(choices=["daily", "monthly"], **kwargs)


class ArchiveInput(serializers.Serializer):
    kind = ArchiveKindField(help_text="daily or monthly")
    period_start = serializers.DateField(help_text="The day, or any day of the month.")

    def validate_period_start(self, value):
        try:
            month_plausible(value.year, value.month)
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc
        return value


class RestoreOutput(serializers.Serializer):
    files = serializers.IntegerField()
    meters = serializers.IntegerField()
    restored = serializers.IntegerField()
    skipped = serializers.IntegerField()
    conflicting = serializers.IntegerField()
    rejected = serializers.IntegerField()
    problems = serializers.ListField(child=serializers.CharField())


class MeterKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = fields.DateTimeField()
    revoked_at = fields.DateTimeField(allow_null=True)


class IssuedMeterKeyOutput(MeterKeyOutput):
    key = serializers.CharField(help_text="Shown once: store it in the device.")


class MeterKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


# --- Customer reads and corrections (#19) -----------------------------------------------------

CUSTOMER_READ_FIELDS = frozenset({"at", "import_kwh", "export_kwh"})


@extend_schema_field({"type": "string", "pattern": "^(amend|void)$"})
class CorrectionActionField(serializers.ChoiceField):
    """A plain string in the schema: other resources' ``action`` enums keep their names."""

    def __init__(self, **kwargs):
        super().__init__(choices=["amend", "void"], **kwargs)


class CorrectionInput(serializers.Serializer):
    action = CorrectionActionField(help_text="amend (new values) or void (remove the reading)")
    reason = serializers.CharField(max_length=1000, help_text="Why; kept in the audit record.")
    import_kwh = register_field(
        required=False, help_text="amend: the new import register (required)."
    )
    export_kwh = register_field(
        required=False,
        allow_null=True,
        help_text="amend: the new export register; omitted: unchanged; null: none.",
    )
    register_reset = serializers.BooleanField(required=False, help_text="Omitted: unchanged.")
    export_register_reset = serializers.BooleanField(
        required=False, help_text="Omitted: unchanged."
    )
    quality = serializers.ChoiceField(
        choices=ReadingQuality.choices, required=False, help_text="Omitted: unchanged."
    )

    def validate(self, attrs):
        values = set(attrs) - {"action", "reason"}
        if attrs["action"] == "amend" and "import_kwh" not in attrs:
            raise serializers.ValidationError({"import_kwh": "Required to amend a reading."})
        if attrs["action"] == "void" and values:
            name = sorted(values)[0]
            raise serializers.ValidationError({name: "A void takes only a reason."})
        return attrs


class CorrectionBillOutput(serializers.Serializer):
    number = serializers.CharField()
    month = serializers.DateField()
    action = serializers.CharField(help_text="correction drafted, or draft regenerated")
    corrects = serializers.CharField(required=False, help_text="The issued bill corrected.")
    difference = fields.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="The correction's total minus the issued bill's (negative = credit).",
    )


class CorrectionOutput(fields.ModelSerializer):
    meter_id = serializers.CharField(source="meter.meter_id", read_only=True)
    action = serializers.CharField(help_text="amend, void, estimate or replace")
    made_by = serializers.CharField(source="made_by.email", default=None, allow_null=True)
    bills = CorrectionBillOutput(many=True, read_only=True)
    days_recomputed = serializers.ListField(child=serializers.DateField(), read_only=True)

    class Meta:
        model = ReadingCorrection
        fields = [
            "meter_id",
            "at",
            "action",
            "reason",
            "made_by",
            "made_at",
            "old_import_kwh",
            "old_export_kwh",
            "old_source",
            "old_quality",
            "old_register_reset",
            "old_export_register_reset",
            "new_import_kwh",
            "new_export_kwh",
            "new_quality",
            "new_register_reset",
            "new_export_register_reset",
            "days_recomputed",
            "bills",
        ]


class EstimateInput(serializers.Serializer):
    start = LocalDateTimeField(help_text="From (the reading at or before it bounds the first gap).")
    end = LocalDateTimeField(help_text="To (the reading at or after it bounds the last gap).")
