"""Energy used: over a period, per interval, statistics, the daily summary, and the analysts'
aggregates."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAnalyst
from config.api import Pagination, query_params
from meters import selectors
from meters.api import serializers as s

from .base import MeterApi


class ConsumptionApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[s.ConsumptionQuery],
        responses=s.ConsumptionOutput,
        summary="Consumption for a period",
        description="`period` = last_30min (the last completed half-hour), today, this_week, "
        "this_month, last_month in the meter's local calendar; or `from` and `to`. Answers the "
        "first reading at or after the start, the last at or before the end, their difference "
        "and whether the period is over and read at both edges. 404 with fewer than two readings.",
    )
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        query = query_params(s.ConsumptionQuery, request)
        result = selectors.consumption_for_period(
            meter=meter,
            period=query.get("period"),
            start=query.get("from"),
            end=query.get("to"),
        )
        return Response(s.ConsumptionOutput(result).data)


class SeriesApi(MeterApi):
    permission_classes = [IsAuthenticated]
    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    @extend_schema(
        parameters=[s.SeriesQuery],
        responses=s.SeriesRow(many=True),
        summary="Consumption per interval (half_hour, hour, day, week, month)",
        description="Like the Octopus Energy API: intervals from `period_from` (inclusive) to "
        "`period_to` (exclusive); days, weeks and months follow the meter's local calendar, so a "
        "DST day has 46 or 50 half-hours. Intervals without readings are left out. Paginated.",
    )
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        rows = selectors.interval_series(meter=meter, **query_params(s.SeriesQuery, request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(s.SeriesRow(page, many=True).data)


class StatsApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[s.RangeQuery],
        responses=s.StatsOutput,
        summary="Energy used, reading count and min/max/avg power in a range",
    )
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        result = selectors.reading_stats(meter=meter, **query_params(s.RangeQuery, request))
        return Response(s.StatsOutput(result).data)


class EnergySummaryApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[s.SummaryQuery],
        responses=s.SummaryOutput,
        summary="Daily kWh, average day over the last year, 30-day moving average",
    )
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        result = selectors.energy_summary(meter=meter, **query_params(s.SummaryQuery, request))
        return Response(s.SummaryOutput(result).data)


class AggregatesApi(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        parameters=[s.AggregatesQuery],
        responses=s.AggregateRow(many=True),
        summary="Consumption by region, area or dwelling type (analysts)",
        description="Total and per-meter average kWh per day or month over local days [start, "
        "end), from the daily roll-ups. No personal data. A group is shown only if it has at "
        "least ANALYTICS_MIN_GROUP_SIZE meters on every local day of the range (threshold rule "
        "per day with complementary suppression, see the README's Analyst privacy), so a "
        "period total is always the sum of the days shown.",
    )
    def get(self, request):
        rows = selectors.consumption_aggregates(**query_params(s.AggregatesQuery, request))
        return Response(s.AggregateRow(rows, many=True).data)
