"""Corrections of a stored reading (staff): amend or void it with a reason, and its audit
records. The reading is named by its meter and time in the URL."""

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStaff
from config.exceptions import ApplicationError
from config.inputs import InputError, datetime_parse
from meters import selectors, services
from meters.api import serializers as s
from meters.selectors import utc_in_meter_zone
from meters.timeutils import as_utc


def _at_of(text: str, meter) -> datetime:
    """The reading's time from the URL: ISO 8601 (``Z`` or an offset; without one it is read in
    the meter's zone)."""
    try:
        return as_utc(datetime_parse(text), meter.tz)
    except InputError as exc:
        raise ApplicationError(f"at: {exc.message}", field="at") from exc
    except (ValueError, OverflowError) as exc:
        raise ApplicationError(f"at: {text[:64]!r} {exc}.", field="at") from exc


AT = OpenApiParameter(
    "at",
    OpenApiTypes.DATETIME,
    OpenApiParameter.PATH,
    description="The reading's time, ISO 8601 (`Z` or an offset; without one, the meter's zone).",
)


class ReadingCorrectionApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[AT],
        responses=s.CorrectionOutput(many=True),
        summary="A reading's corrections, newest first (staff)",
    )
    def get(self, request, meter_id: str, at: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        records = selectors.reading_corrections(meter=meter, at=_at_of(at, meter))
        return Response(s.CorrectionOutput(records, many=True).data)

    @extend_schema(
        parameters=[AT],
        request=s.CorrectionInput,
        responses={201: s.CorrectionOutput},
        summary="Amend or void a stored reading (staff)",
        description="`at` is the reading's time, ISO 8601 (e.g. `2026-11-03T00:00:00Z`). The "
        "reading's values before and after are kept in the answered audit record; the roll-ups "
        "of the days concerned are recomputed; bills of the months concerned are regenerated "
        "(drafts) or get a draft correction (issued ones), listed in `bills`. 404: no such "
        "reading; 400: a broken rule, naming the field; 503 while reception is paused.",
    )
    def post(self, request, meter_id: str, at: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        when = _at_of(at, meter)
        data = s.CorrectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        action, reason = values.pop("action"), values.pop("reason")
        if action == "void":
            record = services.reading_void(meter=meter, at=when, user=request.user, reason=reason)
        else:
            record = services.reading_amend(
                meter=meter, at=when, user=request.user, reason=reason, **values
            )
        return Response(s.CorrectionOutput(record).data, status=status.HTTP_201_CREATED)


class ReadingEstimatesApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=s.EstimateInput,
        responses={201: s.CorrectionOutput(many=True)},
        summary="Estimate the gaps in a meter's interval data (staff)",
        description="Each missing half-hour between the stored readings from `start` to `end` "
        "gets an estimate (quality `estimated`, source `estimate`): the gap's energy, fixed by "
        "the readings either side, split by the meter's own half-hourly profile. One audit "
        "record per estimate is answered; bills of the months concerned are regenerated or "
        "corrected as for any correction. An actual read later posted for an estimated time "
        "replaces the estimate.",
    )
    def post(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        data = s.EstimateInput(data=request.data)
        data.is_valid(raise_exception=True)
        records = services.reading_gaps_estimate(
            meter=meter,
            start=utc_in_meter_zone(data.validated_data["start"], meter, "start"),
            end=utc_in_meter_zone(data.validated_data["end"], meter, "end"),
            user=request.user,
        )
        return Response(s.CorrectionOutput(records, many=True).data, status=status.HTTP_201_CREATED)
