"""The dashboards' JSON doors' query parameters, validated with the API's bounded fields
(config.api_fields), and their answers as the OpenAPI schema documents them. The answers are the
selectors' dicts as they are (columnar for uPlot); the output serializers only describe them."""

from datetime import UTC, datetime

from rest_framework import serializers

from config.api_fields import DateTimeField, LocalDateTimeField

from . import selectors

DAILY_DEFAULT_DAYS = 90


class _UnixSecondsMixin:
    """Unix seconds (what the dashboard's scripts send), or ISO 8601 as the API reads it."""

    def to_internal_value(self, value):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            return super().to_internal_value(value)
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            self.fail("invalid", format="Unix seconds or ISO 8601")


class MeterInstantField(_UnixSecondsMixin, LocalDateTimeField):
    """A time without an offset stays naive: the view reads it in the meter's time zone."""


class InstantField(_UnixSecondsMixin, DateTimeField):
    """A time without an offset is read in the server's time zone."""


def _instant(field_class, help_text: str, **kwargs):
    return field_class(required=False, allow_null=True, help_text=help_text, **kwargs)


class SeriesQuery(serializers.Serializer):
    start = _instant(MeterInstantField, "Range start (Unix seconds or ISO 8601); or give after.")
    end = _instant(MeterInstantField, "Range end; default now. At most 400 days after start.")
    after = _instant(MeterInstantField, "Polling: every reading after this time.")
    max_points = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=10,
        max_value=10_000,
        help_text=f"At most this many points (default {selectors.CHART_MAX_POINTS}).",
    )


class StatsQuery(serializers.Serializer):
    start = InstantField(help_text="Selection start (Unix seconds or ISO 8601).")
    end = InstantField(help_text="Selection end (Unix seconds or ISO 8601).")


class DailyQuery(serializers.Serializer):
    days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=365,
        help_text=f"Local days back from today (default {DAILY_DEFAULT_DAYS}).",
    )


# ---- answers (documentation of the selectors' dicts) ------------------------------------------

_Float = serializers.FloatField


def _cost() -> serializers.CharField:
    return serializers.CharField(
        allow_null=True, help_text="At today's unit rate, VAT included; null without a tariff."
    )


class DashboardSeriesOutput(serializers.Serializer):
    meter_id = serializers.CharField()
    t = serializers.ListField(child=_Float(), help_text="Unix seconds.")
    power_w = serializers.ListField(child=_Float(allow_null=True))
    energy_kwh = serializers.ListField(child=_Float(), help_text="Since the range's first point.")
    base_import_kwh = _Float(allow_null=True)
    points = serializers.IntegerField()


class DashboardStatsOutput(serializers.Serializer):
    start = serializers.CharField()
    end = serializers.CharField()
    readings = serializers.IntegerField()
    energy_kwh = _Float(allow_null=True)
    min_power_w = _Float(allow_null=True)
    max_power_w = _Float(allow_null=True)
    avg_power_w = _Float(allow_null=True)
    cost = _cost()


class DashboardCardOutput(serializers.Serializer):
    period = serializers.CharField()
    label = serializers.CharField()
    energy_kwh = _Float(allow_null=True)
    is_complete = serializers.BooleanField()
    cost = _cost()


class DashboardSummaryOutput(serializers.Serializer):
    cards = DashboardCardOutput(many=True)


class DashboardDayOutput(serializers.Serializer):
    day = serializers.DateField()
    t = _Float(help_text="The day's local noon, Unix seconds.")
    energy_kwh = _Float()
    is_partial = serializers.BooleanField()
    moving_average_kwh = _Float(allow_null=True)
    difference_percent = _Float(allow_null=True)
    cost = _cost()


class DashboardDailyOutput(serializers.Serializer):
    meter_id = serializers.CharField()
    days = DashboardDayOutput(many=True)
    typical_daily_kwh = _Float(allow_null=True)
    moving_average_30d_kwh = _Float(allow_null=True)


class DashboardAlertCardOutput(serializers.Serializer):
    severity = serializers.CharField()
    message = serializers.CharField()


class DashboardBatteryCardOutput(serializers.Serializer):
    identifier = serializers.CharField()
    location = serializers.CharField()
    soc_percent = _Float(allow_null=True)
    power_kw = _Float(allow_null=True)
    status = serializers.CharField()
    last_seen = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True)
    alerts = DashboardAlertCardOutput(many=True)


class DashboardConnectorCardOutput(serializers.Serializer):
    connector_id = serializers.IntegerField()
    status = serializers.CharField()
    error_code = serializers.CharField()
    live_power_w = _Float(allow_null=True)
    live_energy_kwh = _Float(allow_null=True)


class DashboardChargerCardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    charge_point_id = serializers.CharField()
    connected = serializers.BooleanField()
    url = serializers.CharField(allow_null=True)
    connectors = DashboardConnectorCardOutput(many=True)


class DashboardCardsOutput(serializers.Serializer):
    batteries = DashboardBatteryCardOutput(
        many=True, allow_null=True, help_text="Null without the app."
    )
    chargers = DashboardChargerCardOutput(
        many=True, allow_null=True, help_text="Null without the app."
    )


class DashboardPriceDayOutput(serializers.Serializer):
    label = serializers.ChoiceField(choices=["today", "tomorrow"])
    day = serializers.DateField(help_text="The meter's local day.")
    t = serializers.ListField(child=_Float(), help_text="Unix seconds of each half-hour's start.")
    price_pence_inc_vat = serializers.ListField(
        child=_Float(allow_null=True),
        help_text="Per kWh with VAT, in pence; null where the price feed has no rate yet.",
    )
    kwh = serializers.ListField(child=_Float(allow_null=True), help_text="Null: no data.")
    cost = serializers.ListField(
        child=serializers.CharField(allow_null=True),
        help_text="kWh x price with VAT, pounds (decimal text); null without both.",
    )
    half_hours = serializers.IntegerField(help_text="46, 48 or 50.")
    priced = serializers.IntegerField(help_text="Half-hours with a price.")
    total_kwh = _Float()
    total_cost = serializers.CharField(help_text="Of the half-hours with energy and a price.")


class DashboardPricesOutput(serializers.Serializer):
    meter_id = serializers.CharField()
    days = DashboardPriceDayOutput(many=True)
