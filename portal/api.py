"""The small JSON doors the dashboard's scripts read, with the API's conventions: DRF views,
query parameters validated by serializers (config.api_fields), the one error shape
(config.api.exception_handler) and the OpenAPI schema (tag "portal"). They keep the page's
addresses (/dashboard/<meter>/series.json ...) and take the API's authentication: the page's
session, or an API token for an integrator drawing the same charts; without either the answer is
the API's 401 in JSON (a script cannot follow a redirect to the login page). Every meter is
looked up through the meters app's user-scoped selector, so another customer's meter is a 404."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import query_params
from config.exceptions import ApplicationError
from meters import selectors as meter_selectors
from meters.models import Meter

from . import cards, prices, selectors
from . import serializers as s

_METER = OpenApiParameter("meter_id", str, OpenApiParameter.PATH, description="The meter's id.")


def _documented(summary: str, responses, query=None):
    """The schema entry every door shares: tag "portal", the meter in the path, its query."""
    parameters = [_METER] if query is None else [_METER, query]
    return extend_schema(
        tags=["portal"], parameters=parameters, responses=responses, summary=summary
    )


class _MeterDoor(APIView):
    renderer_classes = [JSONRenderer]

    def meter(self, request, meter_id: str) -> Meter:
        return meter_selectors.meter_for_user(user=request.user, meter_id=meter_id)


class SeriesView(_MeterDoor):
    @_documented(
        "A meter's power and energy for the dashboard's chart",
        s.DashboardSeriesOutput,
        query=s.SeriesQuery,
    )
    def get(self, request, meter_id: str):
        meter = self.meter(request, meter_id)
        query = query_params(s.SeriesQuery, request)
        start, end, after = (
            meter_selectors.utc_in_meter_zone(query.get(name), meter, name)
            for name in ("start", "end", "after")
        )
        if start is None and after is None:
            raise ApplicationError("start: give start (and end), or after.", field="start")
        if start and end and end <= start:
            raise ApplicationError("end: must be after start.", field="end")
        if start and end and end - start > selectors.MAX_CHART_RANGE:
            raise ApplicationError("end: a chart covers at most 400 days.", field="end")
        data = selectors.chart_series(
            meter=meter,
            start=start,
            end=end,
            after=after,
            max_points=query.get("max_points") or selectors.CHART_MAX_POINTS,
        )
        return Response(data)


class StatsView(_MeterDoor):
    @_documented(
        "Energy, power and cost of a selected stretch of a meter's chart",
        s.DashboardStatsOutput,
        query=s.StatsQuery,
    )
    def get(self, request, meter_id: str):
        meter = self.meter(request, meter_id)
        query = query_params(s.StatsQuery, request)
        return Response(
            selectors.selection_stats(meter=meter, start=query["start"], end=query["end"])
        )


class SummaryView(_MeterDoor):
    @_documented(
        "A meter's summary cards (today, this week, this month, last month, total)",
        s.DashboardSummaryOutput,
    )
    def get(self, request, meter_id: str):
        meter = self.meter(request, meter_id)
        return Response({"cards": selectors.period_summary(meter=meter)})


class DailyView(_MeterDoor):
    @_documented(
        "A meter's energy per local day with its moving average and typical day",
        s.DashboardDailyOutput,
        query=s.DailyQuery,
    )
    def get(self, request, meter_id: str):
        meter = self.meter(request, meter_id)
        days = query_params(s.DailyQuery, request).get("days") or s.DAILY_DEFAULT_DAYS
        return Response(selectors.daily_usage(meter=meter, days=days))


class CardsView(_MeterDoor):
    @_documented("The battery and charger cards of the meter's account", s.DashboardCardsOutput)
    def get(self, request, meter_id: str):
        """The battery and charger cards of the meter's account, when those apps can tell."""
        meter = self.meter(request, meter_id)
        return Response(cards.account_cards(user=request.user, account=meter.account))


class PricesView(_MeterDoor):
    @_documented(
        "Today's and tomorrow's half-hourly prices with the energy and cost of each half-hour",
        s.DashboardPricesOutput,
    )
    def get(self, request, meter_id: str):
        meter = self.meter(request, meter_id)
        return Response(prices.price_chart(meter=meter))
