from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import CustomerAccount
from billing.models import (
    Bill,
    BillLine,
    BillMeterRead,
    BillState,
    Tariff,
    TariffAssignment,
    TariffRate,
    WindowKind,
)
from config import api_fields as fields


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-01"})
class MonthField(serializers.DateField):
    """A calendar month written ``YYYY-MM`` (the schema says so; a date field would claim
    ``YYYY-MM-DD``)."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", **kwargs)


class TariffRateSerializer(fields.ModelSerializer):
    window = serializers.ChoiceField(
        source="kind",
        choices=WindowKind.choices,
        default=WindowKind.STANDARD,
        help_text="What the band means to a battery: cheap, standard or peak.",
    )
    starts_at = serializers.TimeField(
        required=False, allow_null=True, default=None, help_text="Local time; none: default band."
    )
    ends_at = serializers.TimeField(required=False, allow_null=True, default=None)
    days = serializers.RegexField(r"^[1-7]{1,7}$", default="1234567", help_text="ISO weekdays.")

    class Meta:
        model = TariffRate
        fields = ["band", "window", "unit_rate", "starts_at", "ends_at", "days", "priority"]


class TariffSerializer(fields.ModelSerializer):
    rates = TariffRateSerializer(
        many=True, help_text="Bands; a tariff whose import is dynamic may have none."
    )

    class Meta:
        model = Tariff
        fields = [
            "id",
            "code",
            "name",
            "is_public",
            "import_dynamic",
            "export_dynamic",
            "currency",
            "vat_rate",
            "standing_charge_per_day",
            "export_rate",
            "valid_from",
            "valid_to",
            "charging_rate_per_kwh",
            "charging_fee_per_session",
            "charging_idle_fee_per_minute",
            "rates",
        ]
        read_only_fields = ["id"]


class TariffAssignmentInput(serializers.Serializer):
    account_number = serializers.SlugRelatedField(
        slug_field="account_number", queryset=CustomerAccount.objects.all(), source="account"
    )
    tariff = serializers.PrimaryKeyRelatedField(queryset=Tariff.objects.all())
    starts_on = serializers.DateField(help_text="First local day on the tariff.")
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)


class TariffAssignmentOutput(fields.ModelSerializer):
    account_number = serializers.CharField(source="account.account_number")
    tariff = TariffSerializer()

    class Meta:
        model = TariffAssignment
        fields = ["account_number", "tariff", "starts_on", "ends_on"]


class BillLineOutput(fields.ModelSerializer):
    kind = serializers.CharField(
        help_text="energy, standing, charging, export (a credit: negative amount, outside VAT) "
        "or vat."
    )

    class Meta:
        model = BillLine
        fields = [
            "position",
            "kind",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "amount",
            "band",
            "charging_transaction_id",
        ]


class BillReadOutput(fields.ModelSerializer):
    meter_id = serializers.CharField(source="meter_serial")
    opening_quality = serializers.CharField(help_text="A actual, E estimated.")
    closing_quality = serializers.CharField(help_text="A actual, E estimated.")

    class Meta:
        model = BillMeterRead
        fields = [
            "meter_id",
            "opening_at",
            "opening_kwh",
            "opening_quality",
            "closing_at",
            "closing_kwh",
            "closing_quality",
            "consumption_kwh",
            "register_resets",
            "note",
        ]


class BillSummaryOutput(fields.ModelSerializer):
    account_number = serializers.CharField(source="account.account_number")
    month = MonthField(help_text="YYYY-MM")
    corrects = serializers.SlugRelatedField(
        slug_field="number",
        read_only=True,
        allow_null=True,
        help_text="The bill this one replaces.",
    )
    corrected_by = serializers.SerializerMethodField()
    needs_review = serializers.BooleanField(
        required=False,
        help_text="Staff only (absent for customers): the bill run flagged it for review.",
    )

    class Meta:
        model = Bill
        fields = [
            "number",
            "account_number",
            "month",
            "period_start",
            "period_end",
            "state",
            "currency",
            "consumption_kwh",
            "subtotal",
            "vat",
            "total",
            "needs_review",
            "issued_at",
            "voided_at",
            "void_reason",
            "corrects",
            "corrected_by",
        ]

    def get_corrected_by(self, bill: Bill) -> list[str]:
        return [correction.number for correction in bill.corrections.all()]

    def to_representation(self, instance):
        """The review flag is the supplier's work, not the customer's news: shown only when the
        context's request is a staff user's (views pass ``context={"request": request}``)."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not request.user.is_staff:
            data.pop("needs_review", None)
        return data


class BillOutput(BillSummaryOutput):
    lines = BillLineOutput(many=True)
    reads = BillReadOutput(many=True)
    difference = fields.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="A correction: its total minus the replaced bill's (negative = credit).",
    )
    notes = serializers.CharField()
    daily_usage = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="[[local day, kWh], ...]",
    )

    class Meta(BillSummaryOutput.Meta):
        fields = [
            *BillSummaryOutput.Meta.fields,
            "difference",
            "notes",
            "lines",
            "reads",
            "daily_usage",
        ]


class BillFilter(serializers.Serializer):
    month = fields.MonthField(required=False, help_text="YYYY-MM")
    state = serializers.ChoiceField(choices=BillState.choices, required=False)
    account = serializers.CharField(required=False, help_text="Account number.")


class LastMonthQuery(serializers.Serializer):
    account = serializers.CharField(required=False, help_text="Account number.")
    meter = serializers.CharField(required=False, help_text="Meter id: the bill of its account.")


class VoidInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class BillRunInput(serializers.Serializer):
    month = fields.MonthField(plausible=True, help_text="YYYY-MM, a month that has ended.")
    accounts = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Account numbers; default all."
    )
    issue = serializers.BooleanField(default=True)


class BillRunOutput(serializers.Serializer):
    month = MonthField(help_text="YYYY-MM")
    accounts = serializers.IntegerField()
    created = serializers.IntegerField()
    regenerated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    issued = serializers.IntegerField()
    flagged = serializers.IntegerField()
