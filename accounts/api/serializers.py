from rest_framework import serializers

from accounts.models import ApiToken, CustomerAccount, DwellingType, Region, Role, User
from accounts.postcodes import normalise_postcode


class PostcodeField(serializers.CharField):
    def to_internal_value(self, data):
        return normalise_postcode(super().to_internal_value(data))


class AccountOutput(serializers.ModelSerializer):
    class Meta:
        model = CustomerAccount
        fields = [
            "id",
            "account_number",
            "owner_name",
            "address",
            "postcode",
            "area",
            "region",
            "dwelling_type",
            "users",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountInput(serializers.Serializer):
    owner_name = serializers.CharField(max_length=150)
    address = serializers.CharField()
    postcode = PostcodeField(max_length=12)
    region = serializers.ChoiceField(choices=Region.choices)
    dwelling_type = serializers.ChoiceField(choices=DwellingType.choices)
    users = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), many=True, required=False
    )


class UserOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "is_active", "date_joined"]
        read_only_fields = fields


class UserInput(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.CUSTOMER)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(
        write_only=True, required=False, style={"input_type": "password"}
    )


class MeAccount(serializers.ModelSerializer):
    class Meta:
        model = CustomerAccount
        fields = ["id", "account_number", "owner_name", "postcode", "region", "dwelling_type"]


class MeOutput(serializers.ModelSerializer):
    accounts = MeAccount(source="customer_accounts", many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "date_joined", "accounts"]
        read_only_fields = fields


class MeInput(serializers.Serializer):
    email = serializers.EmailField(required=False)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    password = serializers.CharField(
        write_only=True,
        required=False,
        help_text="A new password. Revokes every other API token of yours.",
    )
    current_password = serializers.CharField(
        write_only=True,
        required=False,
        help_text="Required to change `email` or `password`.",
    )


class TokenOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class IssuedTokenOutput(TokenOutput):
    key = serializers.CharField(help_text="The secret: shown once, never again.")

    class Meta(TokenOutput.Meta):
        fields = [*TokenOutput.Meta.fields, "key"]
        read_only_fields = fields


class TokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class LoginTokenInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"})
    name = serializers.CharField(max_length=100, default="API client")
