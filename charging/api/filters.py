import django_filters

from ..models import Charger, ChargerCommand, IdTag, Transaction


class TransactionFilter(django_filters.FilterSet):
    charger = django_filters.CharFilter(field_name="charger__charge_point_id")
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    active = django_filters.BooleanFilter(field_name="stopped_at", lookup_expr="isnull")

    class Meta:
        model = Transaction
        fields = ["charger", "connector_id", "id_tag", "started_after", "started_before", "active"]


class CommandFilter(django_filters.FilterSet):
    charger = django_filters.CharFilter(field_name="charger__charge_point_id")

    class Meta:
        model = ChargerCommand
        fields = ["charger", "operation", "status"]


class ChargerFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__account_number")

    class Meta:
        model = Charger
        fields = ["charge_point_id", "registration", "account", "connected"]


class IdTagFilter(django_filters.FilterSet):
    id_tag = django_filters.CharFilter(lookup_expr="iexact", help_text="Matched ignoring case.")
    account = django_filters.CharFilter(field_name="account__account_number")

    class Meta:
        model = IdTag
        fields = ["id_tag", "account", "blocked"]
