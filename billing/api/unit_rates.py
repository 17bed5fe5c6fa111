"""The price feed's doors: a dynamic tariff's half-hourly unit rates, read in the market's shape
(the Octopus API's: ``value_exc_vat``, ``value_inc_vat``, ``valid_from``, ``valid_to``, newest
first, paginated) and set a local day at a time by staff (``services.unit_rates_set_day``, the
one validator every door uses)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStaff
from billing import selectors, services
from billing.models import HALF_HOUR_RATE_MAX, HALF_HOUR_RATE_MIN, RateDirection
from config import api_fields as fields
from config.api import Pagination, query_params
from config.exceptions import ApplicationError
from meters.timeutils import HALF_HOUR

DIRECTION_HELP = "import (default) or export: which of the tariff's rates."


class UnitRateOutput(serializers.Serializer):
    value_exc_vat = fields.DecimalField(
        max_digits=12, decimal_places=5, help_text="Per kWh before VAT, in the tariff's currency."
    )
    value_inc_vat = fields.DecimalField(
        max_digits=12,
        decimal_places=5,
        help_text="With the tariff's VAT (import); export is outside VAT, so it equals "
        "value_exc_vat.",
    )
    valid_from = serializers.DateTimeField(help_text="Start of the half-hour.")
    valid_to = serializers.DateTimeField(help_text="End of the half-hour (exclusive).")


class UnitRatesQuery(serializers.Serializer):
    period_from = fields.DateTimeField(
        required=False, help_text="Inclusive; without an offset, local time (Europe/London)."
    )
    period_to = fields.DateTimeField(required=False, help_text="Exclusive.")
    direction = serializers.ChoiceField(
        choices=RateDirection.choices, default=RateDirection.IMPORT, help_text=DIRECTION_HELP
    )

    def validate(self, data):
        if (
            "period_from" in data
            and "period_to" in data
            and data["period_to"] <= data["period_from"]
        ):
            raise serializers.ValidationError({"period_to": "must be after period_from."})
        return data


class UnitRateInputDoc(serializers.Serializer):
    """What one half-hour of a PUT looks like (the schema's; the service checks the values)."""

    valid_from = serializers.DateTimeField(
        help_text="Start of the half-hour; without an offset, local time (refused in the hour "
        "that occurs twice when the clocks go back: give the offset)."
    )
    valid_to = serializers.DateTimeField(required=False, help_text="valid_from + 30 min.")
    value_exc_vat = serializers.DecimalField(
        max_digits=12,
        decimal_places=5,
        min_value=HALF_HOUR_RATE_MIN,
        max_value=HALF_HOUR_RATE_MAX,
        help_text="Per kWh before VAT in the tariff's currency (0.2415 is 24.15p); may be "
        "negative; rounded to 5 places.",
    )


@extend_schema_field(UnitRateInputDoc(many=True))
class RatesField(serializers.ListField):
    """The day's half-hours as given: the service's validator is the one that checks them, so
    the API, the command and the admin refuse the same things in the same words."""

    child = serializers.JSONField()


class UnitRatesDayInput(serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=RateDirection.choices, default=RateDirection.IMPORT, help_text=DIRECTION_HELP
    )
    rates = RatesField(
        help_text="Every half-hour of the local day, once (46, 48 or 50), in any order."
    )


class UnitRatesDayOutput(serializers.Serializer):
    tariff = serializers.CharField(help_text="The tariff's code.")
    direction = serializers.CharField()
    day = serializers.DateField(help_text="Local day.")
    half_hours = serializers.IntegerField()
    created = serializers.IntegerField(help_text="Half-hours that had no rate before.")
    changed = serializers.IntegerField(help_text="Half-hours whose rate changed.")
    unchanged = serializers.IntegerField(help_text="Half-hours already at this rate.")
    results = UnitRateOutput(many=True, help_text="The day's rates, in time order.")


class DayPath(serializers.Serializer):
    day = serializers.DateField(format="%Y-%m-%d", input_formats=["%Y-%m-%d"])


def rate_output(tariff, direction: str, valid_from, value) -> dict:
    return {
        "value_exc_vat": value,
        "value_inc_vat": selectors.rate_inc_vat(tariff=tariff, direction=direction, value=value),
        "valid_from": valid_from,
        "valid_to": valid_from + HALF_HOUR,
    }


class UnitRateListApi(APIView):
    """Any logged-in user reads a public tariff's rates (and customers their own tariff's)."""

    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    @extend_schema(
        parameters=[UnitRatesQuery],
        responses=UnitRateOutput(many=True),
        summary="A dynamic tariff's half-hourly unit rates, newest first",
        description="Only the half-hours the price feed has set are listed; a missing one is "
        "absent (it has no price yet). A tariff that prices this direction by bands (flat or "
        "time-of-use) has no half-hourly rates: see GET /api/v1/tariffs/{id}.",
    )
    def get(self, request, code: str):
        tariff = selectors.tariff_for_user(user=request.user, code=code)
        query = query_params(UnitRatesQuery, request)
        rates = selectors.half_hour_rates(tariff=tariff, **query)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rates, request, view=self)
        direction = query["direction"]
        data = [rate_output(tariff, direction, r.valid_from, r.value_exc_vat) for r in page]
        return paginator.get_paginated_response(UnitRateOutput(data, many=True).data)


class UnitRateDayApi(APIView):
    permission_classes = [IsStaff]
    parser_classes = [fields.JSONParser]

    @extend_schema(
        request=UnitRatesDayInput,
        responses=UnitRatesDayOutput,
        parameters=[
            OpenApiParameter("day", str, OpenApiParameter.PATH, description="YYYY-MM-DD, local.")
        ],
        summary="Set a local day's half-hourly rates (staff; idempotent)",
        description="Replaces the day's rates of the tariff's direction with exactly these: "
        "every half-hour of the day once (46 or 50 on clock-change days), no gaps, no "
        "duplicates, each value within -1 and 10 per kWh. The same body twice leaves the same "
        "state; a refused body changes nothing. 409 if the tariff does not price that "
        "direction half-hourly.",
    )
    def put(self, request, code: str, day: str):
        tariff = selectors.tariff_for_user(user=request.user, code=code)
        path = DayPath(data={"day": day})
        if not path.is_valid():
            raise ApplicationError("day: must be a date written YYYY-MM-DD.", field="day")
        data = UnitRatesDayInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.unit_rates_set_day(
            tariff=tariff, day=path.validated_data["day"], **data.validated_data
        )
        checked = result.day
        body = {
            "tariff": tariff.code,
            "direction": checked.direction,
            "day": checked.day,
            "half_hours": len(checked.values),
            "created": result.created,
            "changed": result.changed,
            "unchanged": result.unchanged,
            "results": [
                rate_output(tariff, checked.direction, at, value)
                for at, value in checked.values.items()
            ],
        }
        return Response(UnitRatesDayOutput(body).data)
