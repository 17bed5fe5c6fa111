import django_filters

from config.api_fields import DateTimeFilter, FilterSet

from ..models import Charger, ChargerCommand, IdTag, Transaction


class TransactionFilter(FilterSet):
    charger = django_filters.CharFilter(field_name="charger__charge_point_id")
    started_after = DateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = DateTimeFilter(field_name="started_at", lookup_expr="lt")
    active = django_filters.BooleanFilter(field_name="stopped_at", lookup_expr="isnull")

    class Meta:
        model = Transaction
        fields = ["charger", "connector_id", "id_tag", "started_after", "started_before", "active"]


class CommandFilter(FilterSet):
    charger = django_filters.CharFilter(field_name="charger__charge_point_id")

    class Meta:
        model = ChargerCommand
        fields = ["charger", "operation", "status"]


class ChargerFilter(FilterSet):
    account = django_filters.CharFilter(field_name="account__account_number")

    class Meta:
        model = Charger
        fields = ["charge_point_id", "registration", "account", "connected"]


class IdTagFilter(FilterSet):
    id_tag = django_filters.CharFilter(lookup_expr="iexact", help_text="Matched ignoring case.")
    account = django_filters.CharFilter(field_name="account__account_number")

    class Meta:
        model = IdTag
        fields = ["id_tag", "account", "blocked"]
