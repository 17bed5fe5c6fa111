from django.utils import timezone
from rest_framework import serializers

from accounts.models import CustomerAccount
from config import api_fields as fields

from ..models import Charger, ChargerCommand, Connector, IdTag, Registration, Transaction


class ConnectorOutput(fields.ModelSerializer):
    class Meta:
        model = Connector
        fields = [
            "connector_id",
            "status",
            "error_code",
            "info",
            "status_at",
            "live_power_w",
            "live_energy_kwh",
            "live_at",
        ]


class ChargerOutput(fields.ModelSerializer):
    connectors = ConnectorOutput(many=True, read_only=True)
    account = serializers.SlugRelatedField(slug_field="account_number", read_only=True)
    has_password = serializers.SerializerMethodField(
        help_text="Whether an HTTP Basic password is set (the password itself is never shown)."
    )

    class Meta:
        model = Charger
        fields = [
            "id",
            "charge_point_id",
            "account",
            "registration",
            "ocpp_version",
            "vendor",
            "model",
            "serial_number",
            "firmware_version",
            "connected",
            "remote_address",
            "connected_at",
            "disconnected_at",
            "last_message_at",
            "last_heartbeat_at",
            "heartbeat_interval",
            "has_password",
            "connectors",
        ]

    def get_has_password(self, charger: Charger) -> bool:
        return bool(charger.password_hash)


class ChargerCreatedOutput(ChargerOutput):
    authorization_key = serializers.CharField(
        read_only=True,
        help_text="The key the server generated when none was given (40 hexadecimal "
        "characters, the OCPP AuthorizationKey; the charger's HTTP Basic password). Shown only "
        'in this answer: only its digest is stored. "" when a password was given or none is set.',
    )

    class Meta(ChargerOutput.Meta):
        fields = [*ChargerOutput.Meta.fields, "authorization_key"]


class TransactionOutput(fields.ModelSerializer):
    transaction_id = serializers.IntegerField(source="pk", read_only=True)
    charger = serializers.SlugRelatedField(slug_field="charge_point_id", read_only=True)
    account = serializers.SlugRelatedField(slug_field="account_number", read_only=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "transaction_id",
            "charger",
            "connector_id",
            "id_tag",
            "account",
            "authorization_status",
            "started_at",
            "stopped_at",
            "meter_start_wh",
            "meter_stop_wh",
            "energy_kwh",
            "duration_seconds",
            "stop_reason",
            "stop_id_tag",
        ]

    def get_duration_seconds(self, row: Transaction) -> int | None:
        return int(row.duration.total_seconds()) if row.duration is not None else None

    def to_representation(self, row: Transaction) -> dict:
        data = super().to_representation(row)
        if getattr(row, "is_visitor", False):  # see selectors.transactions_for_user
            data |= {"id_tag": None, "stop_id_tag": None, "account": None}
        return data


class CommandOutput(fields.ModelSerializer):
    charger = serializers.SlugRelatedField(slug_field="charge_point_id", read_only=True)

    class Meta:
        model = ChargerCommand
        fields = [
            "id",
            "charger",
            "operation",
            "payload",
            "status",
            "response",
            "error_code",
            "error_description",
            "created_at",
            "completed_at",
        ]


# Refuses a field it does not take (400 naming it), so neither a typo nor an attempt to change a
# fixed field is answered 200 with nothing changed; ``fixed`` says why such a field cannot be
# written. The browsable API's forms post their CSRF token along. (A comment, not a docstring:
# the schema would show it on every input.)
class _Input(serializers.Serializer):
    fixed: dict[str, str] = {}

    def validate(self, attrs):
        taken = {*self.fields, "csrfmiddlewaretoken"}
        extra = [name for name in self.initial_data if name not in taken]
        if extra:
            takes = ", ".join(self.fields)
            raise serializers.ValidationError(
                {
                    name: [self.fixed.get(name, f"Unknown field; this request takes {takes}.")]
                    for name in extra
                }
            )
        return attrs


def _account_field() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="account_number",
        queryset=CustomerAccount.objects.all(),
        allow_null=True,
        required=False,
        help_text="The owning customer account's number; null for none.",
    )


class ChargerUpdateInput(_Input):
    """What staff may change on a charger; its identity is fixed."""

    fixed = {
        "charge_point_id": "The charge point identity cannot be changed: the charger connects "
        "with it. Register a new charger and retire this one."
    }

    account = _account_field()
    registration = serializers.ChoiceField(
        choices=Registration.choices,
        required=False,
        help_text="Accepted needs a password. Rejected retires the charger: it is answered "
        "Rejected at every boot and sent nothing.",
    )
    password = serializers.CharField(
        required=False,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="HTTP Basic password (security profile 1, the AuthorizationKey the charger "
        "was installed with): 16 to 40 printable ASCII characters; stored as a keyed digest, "
        "never returned. Leave it out when registering an Accepted charger to have one generated.",
    )


class ChargerCreateInput(ChargerUpdateInput):
    """A charger to register."""

    fixed = {}

    charge_point_id = serializers.CharField(
        trim_whitespace=False,
        help_text="The identity in the charger's URL /ocpp/<charge_point_id>: 1 to 48 printable "
        'ASCII characters without "/" or ":".',
    )
    registration = serializers.ChoiceField(
        choices=Registration.choices,
        default=Registration.ACCEPTED,
        help_text="Accepted (the default) needs a password (generated when none is given); a "
        "Pending charger may only boot.",
    )


class IdTagOutput(fields.ModelSerializer):
    account = serializers.SlugRelatedField(
        slug_field="account_number", read_only=True, allow_null=True
    )
    parent_id_tag = serializers.CharField(
        source="parent.id_tag", read_only=True, allow_null=True, default=None
    )
    status = serializers.SerializerMethodField(
        help_text="What Authorize answers now: Accepted, Blocked (the tag or its parent) or "
        "Expired."
    )

    class Meta:
        model = IdTag
        fields = [
            "id",
            "id_tag",
            "account",
            "parent_id_tag",
            "expires_at",
            "blocked",
            "max_concurrent_transactions",
            "status",
            "created_at",
        ]

    def get_status(self, tag: IdTag) -> str:
        return tag.authorization_status(timezone.now())


class IdTagUpdateInput(_Input):
    """What staff may change on a tag; its value is fixed."""

    fixed = {
        "id_tag": "An id tag's value cannot be changed: sessions and chargers' local lists hold "
        "it. Register a new tag and block this one."
    }

    account = _account_field()
    parent_id_tag = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The group's parent tag (registered already), matched ignoring case; null "
        "or empty for none.",
    )
    expires_at = fields.DateTimeField(
        required=False,
        allow_null=True,
        help_text="After this the tag is answered Expired; null for never. Without an offset, "
        "read in the server's time zone.",
    )
    blocked = serializers.BooleanField(required=False, help_text="Block (true) or unblock it.")
    max_concurrent_transactions = serializers.IntegerField(
        required=False, help_text="Sessions the tag may run at once; 0 means no limit."
    )


class IdTagCreateInput(IdTagUpdateInput):
    """A tag to register."""

    fixed = {}

    id_tag = serializers.CharField(
        trim_whitespace=False,
        help_text="OCPP IdToken (CiString20): 1 to 20 printable ASCII characters, unique "
        "ignoring case.",
    )
