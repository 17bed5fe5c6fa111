"""The meters API: doors that parse, call a service or selector, and answer."""

from datetime import UTC

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.permissions import IsAnalyst, IsStaff
from config.api import Pagination, csv_response, query_params
from config.api_fields import body_too_large, parse_json_body, read_body
from config.exceptions import NotFound
from meters import archives, greenbutton, selectors, services
from meters.authentication import MeterKeyAuthentication
from meters.models import Archive, Reception, ReceptionChange

from . import serializers as s

_OPTIONAL_READING_FIELDS = (
    "export_kwh",
    "power_w",
    "power_l1_w",
    "power_l2_w",
    "power_l3_w",
    "export_register_reset",
    "raw",
)


class MeterApi(APIView):
    """Meter doors also accept a meter's own key (``Token mk_…``), scoped to that meter."""

    authentication_classes = [MeterKeyAuthentication, *api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    permission_classes = [IsAuthenticated]


class MeterListApi(MeterApi):
    permission_classes = [IsAuthenticated]
    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    @extend_schema(responses=s.MeterOutput(many=True), summary="Meters the caller may see")
    def get(self, request):
        meters = selectors.meters_for_user(user=request.user)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(meters, request, view=self)
        return paginator.get_paginated_response(s.MeterOutput(page, many=True).data)

    @extend_schema(request=s.MeterInput, responses={201: s.MeterOutput}, summary="Register a meter")
    def post(self, request):
        if not request.user.is_staff:
            self.permission_denied(request, message="Staff only.")
        data = s.MeterInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        meter = services.meter_create(
            meter_id=values["meter_id"],
            account=values["account"],
            kind=values["kind"],
            address=values.get("address"),
            postcode=values.get("postcode"),
            timezone_name=values.get("timezone"),
        )
        return Response(s.MeterOutput(meter).data, status=status.HTTP_201_CREATED)


class MeterDetailApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.MeterOutput, summary="One meter")
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        return Response(s.MeterOutput(meter).data)


class MeterReadingsApi(MeterApi):
    """Raw readings of a meter, and submitting one reading."""

    permission_classes = [IsAuthenticated]
    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Inclusive."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Exclusive."),
            OpenApiParameter(
                "after",
                OpenApiTypes.DATETIME,
                description="Only readings strictly after this time (incremental polling).",
            ),
            OpenApiParameter(
                "max_points",
                OpenApiTypes.INT,
                description="Downsample to at most this many points (evenly spaced; for charts).",
            ),
        ],
        responses=s.ReadingOutput(many=True),
        summary="Raw readings of a meter",
    )
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        query = s.RawReadingsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        readings = selectors.readings_raw(meter=meter, **query.validated_data)
        if isinstance(readings, list):
            return Response({"count": len(readings), "results": _readings_out(meter, readings)})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(readings, request, view=self)
        return paginator.get_paginated_response(_readings_out(meter, page))

    @extend_schema(
        request=s.ReadingInput,
        responses={201: s.ReadingOutput, 200: s.ReadingOutput},
        summary="Submit one reading",
        description="201 when stored; 200 when the same reading was already stored (a no-op); "
        "409 when another value is stored for that time; 503 + Retry-After while reception is "
        "paused.",
    )
    def post(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        data = s.ReadingInput(data=request.data)
        data.is_valid(raise_exception=True)
        reading, created = services.reading_record(meter=meter, source="api", **data.validated_data)
        return Response(
            s.ReadingOutput(reading).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _readings_out(meter, readings) -> list:
    for reading in readings:
        reading.meter = meter
    return s.ReadingOutput(readings, many=True).data


def _bulk_body(request) -> object:
    """The JSON body of a bulk request. Read here rather than through request.data: 10,000
    readings with raw payloads pass Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), so this door
    has its own bound, READINGS_BULK_MAX_BYTES; the JSON rules are the parser's."""
    if not (request.content_type or "").startswith("application/json"):
        raise UnsupportedMediaType(request.content_type or "none")
    limit = settings.READINGS_BULK_MAX_BYTES
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise body_too_large(limit)
    return parse_json_body(read_body(request.stream, limit) or b"{}")


def _bulk_items(data) -> list[services.ReadingIn]:
    """A light parse: each item's values are checked by the service, which reports per item."""
    readings = data.get("readings") if isinstance(data, dict) else None
    if not isinstance(readings, list):
        raise ValidationError({"readings": ["Expected a list of readings."]})
    items = []
    for index, item in enumerate(readings):
        if not isinstance(item, dict):
            raise ValidationError({f"readings[{index}]": ["Expected an object."]})
        optional = {name: item[name] for name in _OPTIONAL_READING_FIELDS if name in item}
        items.append(
            services.ReadingIn(
                meter_id=str(item.get("meter_id", "")),
                at=item.get("at"),
                import_kwh=item.get("import_kwh"),
                quality=item.get("quality", "actual"),
                register_reset=item.get("register_reset", False),
                **optional,
            )
        )
    return items


class BulkReadingsApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=s.BulkInput,
        responses={200: s.BulkOutput},
        parameters=[
            OpenApiParameter(
                "atomic",
                OpenApiTypes.BOOL,
                description="true: all or nothing. If any item is rejected nothing is written and "
                "the answer is 400 (409 when every rejection is a conflict) with the per-item "
                "results. Default false: accepted items are written, rejected ones reported.",
            )
        ],
        summary="Submit many readings of one or more meters",
        description="Up to 10,000 readings per request. Each item is reported: accepted, "
        "duplicate (same value already stored: a no-op) or rejected with code (unknown_meter, "
        "conflict, invalid), field and reason. A customer may submit only for their own meters "
        "(others are unknown_meter). 503 + Retry-After while reception is paused.",
    )
    def post(self, request):
        atomic = request.query_params.get("atomic", "false").lower() in ("1", "true", "yes")
        items = _bulk_items(_bulk_body(request))
        results = services.reading_ingest_bulk(
            items=items, source="api", user=request.user, atomic=atomic
        )
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for result in results:
            counts[result.status] += 1
        return Response(
            {**counts, "results": [services.result_as_dict(result) for result in results]}
        )


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


class LatestReadingApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.ReadingOutput, summary="Latest reading of a meter")
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        reading = selectors.reading_latest(meter=meter)
        reading.meter = meter
        return Response(s.ReadingOutput(reading).data)


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


class MeterKeysApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=s.MeterKeyOutput(many=True), summary="A meter's device keys (staff)")
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        return Response(s.MeterKeyOutput(meter.keys.all(), many=True).data)

    @extend_schema(
        request=s.MeterKeyInput,
        responses={201: s.IssuedMeterKeyOutput},
        summary="Create a device key for a meter (staff)",
        description="The key (`mk_…`) is shown only in this answer. With `Authorization: Token "
        "<key>` the device may submit and read this meter's readings and nothing else.",
    )
    def post(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        data = s.MeterKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.meter_key_create(meter=meter, **data.validated_data)
        body = {**s.MeterKeyOutput(issued.meter_key).data, "key": issued.key}
        return Response(body, status=status.HTTP_201_CREATED)


class MeterKeyRevokeApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=s.MeterKeyOutput, summary="Revoke a device key (staff)")
    def post(self, request, meter_id: str, key_id: int):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        meter_key = meter.keys.filter(pk=key_id).first()
        if meter_key is None:
            raise NotFound(f"No key {key_id} on meter {meter_id}.")
        return Response(s.MeterKeyOutput(services.meter_key_revoke(meter_key=meter_key)).data)


class ArchiveListApi(APIView):
    permission_classes = [IsStaff]
    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    @extend_schema(responses=s.ArchiveOutput(many=True), summary="Archives written (staff)")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(Archive.objects.all(), request, view=self)
        return paginator.get_paginated_response(s.ArchiveOutput(page, many=True).data)

    @extend_schema(
        request=s.ArchiveInput,
        responses={201: s.ArchiveOutput},
        summary="Archive a local day or month now (staff)",
        description="Idempotent: the same readings give the same file and SHA-256.",
    )
    def post(self, request):
        data = s.ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        archive = archives.archive_write(**data.validated_data)
        return Response(s.ArchiveOutput(archive).data, status=status.HTTP_201_CREATED)


class ArchiveRestoreApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=s.ArchiveInput,
        responses=s.RestoreOutput,
        summary="Restore readings from an archive (staff)",
        description="Re-imports idempotently: stored readings are skipped, conflicts are counted "
        "and change nothing. A file whose SHA-256 does not match its manifest is refused (400).",
    )
    def post(self, request):
        data = s.ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        path = archives.archive_path(**data.validated_data)
        summary = archives.readings_restore(paths=[path])
        return Response(s.RestoreOutput(summary.as_dict()).data)


class ReceptionApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=s.ReceptionOutput, summary="Reading reception state (staff)")
    def get(self, request):
        state = Reception.objects.filter(pk=Reception.SINGLETON_PK).first() or Reception()
        body = s.ReceptionOutput(state).data
        body["history"] = s.ReceptionChangeOutput(
            ReceptionChange.objects.select_related("changed_by")[:20], many=True
        ).data
        return Response(body)

    @extend_schema(
        request=s.ReceptionInput,
        responses=s.ReceptionOutput,
        summary="Pause/resume reception, maintenance mode on/off (staff)",
        description="While paused or in maintenance every write door (REST single and bulk, "
        "MQTT ingest, restore) answers 503 with Retry-After; reads keep working.",
    )
    def put(self, request):
        data = s.ReceptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        state = services.reception_set(user=request.user, **data.validated_data)
        return Response(s.ReceptionOutput(state).data)
