"""Readings in (one meter's, or any meters' in bulk) and out (raw and latest)."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from config.api import Pagination
from config.api_fields import body_too_large, parse_json_body, read_body
from meters import selectors, services
from meters.api import serializers as s
from meters.api.bulk import BulkJSONRenderer, bulk_items_fast, collector_paused

from .base import MeterApi

_OPTIONAL_READING_FIELDS = (
    "export_kwh",
    "power_w",
    "power_l1_w",
    "power_l2_w",
    "power_l3_w",
    "export_register_reset",
    "raw",
)


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
        "paused. A customer's read (a customer's token) is of their own interval meter and has "
        "only `at`, `import_kwh` and `export_kwh`; it is stored with source and quality "
        "`customer`, and one far above the meter's usual usage is flagged for staff review. An "
        "actual read for a time that holds an estimate replaces it (and the rest of that gap is "
        "estimated again).",
    )
    def post(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        if request.user.is_customer:
            return _customer_read(request, meter)
        data = s.ReadingInput(data=request.data)
        data.is_valid(raise_exception=True)
        reading, created = services.reading_record_or_replace_estimate(
            meter=meter, source="api", **data.validated_data
        )
        return Response(
            s.ReadingOutput(reading).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _customer_read(request, meter) -> Response:
    """A customer's read: the same rules as every reading (services.customer_read_submit)."""
    if isinstance(request.data, dict):
        extra = sorted(set(request.data) - s.CUSTOMER_READ_FIELDS)
        if extra:
            raise ValidationError(
                {extra[0]: ["A customer's read has only at, import_kwh and export_kwh."]}
            )
    data = s.ReadingInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    submitted = services.customer_read_submit(
        user=request.user,
        meter=meter,
        at=values["at"],
        import_kwh=values["import_kwh"],
        export_kwh=values.get("export_kwh"),
        channel="api",
    )
    return Response(
        s.ReadingOutput(submitted.reading).data,
        status=status.HTTP_201_CREATED if submitted.created else status.HTTP_200_OK,
    )


def _readings_out(meter, readings) -> list:
    for reading in readings:
        reading.meter = meter
    return s.ReadingOutput(readings, many=True).data


def _bulk_body(request) -> bytes:
    """The JSON body of a bulk request. Read here rather than through request.data: 10,000
    readings with raw payloads pass Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), so this door
    has its own bound, READINGS_BULK_MAX_BYTES; the JSON rules are the parser's."""
    if not (request.content_type or "").startswith("application/json"):
        raise UnsupportedMediaType(request.content_type or "none")
    limit = settings.READINGS_BULK_MAX_BYTES
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise body_too_large(limit)
    return read_body(request.stream, limit)


def _bulk_readings(body: bytes) -> list:
    """The body's readings: msgspec's parse when it can vouch for the same readings (nearly
    every body a meter sends), else config.inputs' JSON rules and the light parse below."""
    items = bulk_items_fast(body)
    if items is None:
        items = _bulk_items(parse_json_body(body or b"{}"))
    return items


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
    # The project's renderers with msgspec's JSON (a 10,000-item answer).
    renderer_classes = [
        BulkJSONRenderer if renderer is JSONRenderer else renderer
        for renderer in api_settings.DEFAULT_RENDERER_CLASSES
    ]

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
        "(others are unknown_meter). An actual read for a time that holds an estimate replaces "
        "it (and the rest of that gap is estimated again), as at the single-reading door. "
        "503 + Retry-After while reception is paused.",
    )
    def post(self, request):
        atomic = request.query_params.get("atomic", "false").lower() in ("1", "true", "yes")
        with collector_paused():
            items = _bulk_readings(_bulk_body(request))
            results = services.reading_ingest_bulk_replacing_estimates(
                items=items, source="api", user=request.user, atomic=atomic
            )
            counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
            for result in results:
                counts[result.status] += 1
            answer = [services.result_as_dict(result) for result in results]
        return Response({**counts, "results": answer})


class LatestReadingApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.ReadingOutput, summary="Latest reading of a meter")
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        reading = selectors.reading_latest(meter=meter)
        reading.meter = meter
        return Response(s.ReadingOutput(reading).data)
