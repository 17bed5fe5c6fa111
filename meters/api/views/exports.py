"""A meter's readings as a download: CSV or Green Button XML."""

from datetime import UTC

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated

from config.api import csv_response, query_params
from meters import greenbutton, selectors
from meters.api import serializers as s

from .base import MeterApi


class ExportCsvApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[s.RangeQuery],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="CSV export of a meter's readings in [start, end)",
        description="Columns: meter_id, at (UTC ISO 8601), import_kwh, export_kwh, power_w, "
        "source, quality, register_reset, export_register_reset.",
    )
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        rows = selectors.readings_for_export(meter=meter, **query_params(s.RangeQuery, request))
        return csv_response(
            READINGS_CSV_HEADER, _csv_rows(meter, rows), f"{meter.meter_id}-readings.csv"
        )


READINGS_CSV_HEADER = ["meter_id", *selectors.READING_EXPORT_FIELDS]


def _csv_rows(meter, rows):
    for at, import_kwh, export_kwh, power_w, source, quality, reset, export_reset in rows:
        yield [
            meter.meter_id,
            at.astimezone(UTC).isoformat(),
            import_kwh,
            export_kwh,
            power_w,
            source,
            quality,
            "true" if reset else "false",
            "true" if export_reset else "false",
        ]


class GreenButtonApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[s.RangeQuery],
        responses={(200, "application/atom+xml"): OpenApiTypes.STR},
        summary="Green Button (ESPI) XML of a meter's half-hourly usage in [start, end)",
        description="An Atom feed: UsagePoint, MeterReading, ReadingType (Wh, 1,800 s delta "
        "data) and one IntervalBlock per local day.",
    )
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        document = greenbutton.green_button_xml(meter=meter, **query_params(s.RangeQuery, request))
        response = HttpResponse(document, content_type="application/atom+xml")
        response["Content-Disposition"] = f'attachment; filename="{meter.meter_id}-espi.xml"'
        return response
