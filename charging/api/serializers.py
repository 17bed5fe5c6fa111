from rest_framework import serializers

from ..models import Charger, ChargerCommand, Connector, Transaction


class ConnectorOutput(serializers.ModelSerializer):
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


class ChargerOutput(serializers.ModelSerializer):
    connectors = ConnectorOutput(many=True, read_only=True)
    account = serializers.SlugRelatedField(slug_field="account_number", read_only=True)

    class Meta:
        model = Charger
        fields = [
            "id",
            "charge_point_id",
            "account",
            "registration",
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
            "connectors",
        ]


class TransactionOutput(serializers.ModelSerializer):
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


class CommandOutput(serializers.ModelSerializer):
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
