"""The API's input edge: DRF fields, JSON parser and django-filter pieces on config.inputs.

Every value a client sends through the API passes one of these, so a class of bad input (NaN,
megabyte numbers, JSON nested 100,000 deep, offsets PostgreSQL cannot hold, year 1 in a
reading) is refused once, here, with a 400 naming the field and the rule — never a 500 later in
a service or the database. They are the project's defaults:

- ``JSONParser`` is REST_FRAMEWORK's JSON parser (config/settings/base.py): every JSON body is
  read with ``config.inputs.json_loads`` and at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes
  (413 beyond);
- ``ModelSerializer`` maps model fields to the bounded fields below; plain serializers use them
  by name (``fields.DateTimeField``), and tests/test_http_edges.py fails when an app's input
  serializer uses DRF's own datetime, decimal, float or JSON field;
- ``FilterBackend`` (the default filter backend) builds filtersets from ``FilterSet``, whose
  datetime filters refuse offsets beyond ±14:00 and instants that overflow.

Stored times and query bounds differ: ``DateTimeField(plausible=True)`` is for a time something
happened at (not before ``INPUT_EARLIEST_DATETIME``, not beyond the clock skew); without it a
datetime is a bound ("everything before 2100" is fine) that must still convert to UTC.
Commissioning: no model records when a meter or battery was commissioned (``created_at`` is when
its record was made, and back-filled history before that is normal), so no door checks
``not_before``; config.inputs.datetime_plausible takes it once a commissioning date exists.
"""

import math
import re
from datetime import datetime

import django_filters
from django import forms
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as drf_filters
from django_filters.utils import translate_validation
from rest_framework import exceptions, parsers, serializers, status

from config.inputs import (
    MAX_NUMBER_LENGTH,
    MAX_OFFSET,
    InputError,
    datetime_bound,
    datetime_plausible,
    json_loads,
    json_value_check,
    month_plausible,
    offset_check,
    to_decimal,
    to_utc,
)

# ---- bodies -------------------------------------------------------------------------------


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def body_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes (the limit).")


def read_body(stream, limit: int) -> bytes:
    """At most ``limit`` bytes of a request body; PayloadTooLarge beyond. Reading stops one
    byte past the limit, so an oversize body costs no more memory than the limit."""
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise body_too_large(limit)
    return body


def parse_json_body(body: bytes):
    """A JSON request body under config.inputs' rules; ParseError (400) naming the rule."""
    try:
        return json_loads(body, decimals=False)
    except InputError as exc:
        raise exceptions.ParseError(f"JSON: {exc.message}", code=exc.code) from exc


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with config.inputs.json_loads: bounded depth and number length, no
    NaN/Infinity, no NUL; numbers with a fraction stay floats as in DRF's parser (the fields
    below turn them into bounded decimals)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_json_body(read_body(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


# ---- datetimes ----------------------------------------------------------------------------


def _fail(exc: InputError):
    raise serializers.ValidationError(exc.message, code=exc.code)


def _offset_of_text(value) -> None:
    """The offset a client wrote, checked before DRF converts it away (DRF accepts up to
    ±23:59 and a PostgreSQL session would refuse some of those)."""
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_LENGTH or "\x00" in value:
            raise InputError(
                "bad_datetime", "A datetime is an ISO 8601 text of 64 characters at most."
            )
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            return
        if parsed is not None:
            offset_check(parsed)


def naive_in_range(value: datetime) -> datetime:
    """A naive datetime that converts to UTC from any offset within ±14:00 (read later in a
    meter's zone); InputError ``out_of_range`` for the last and first hours of the calendar."""
    try:
        value - MAX_OFFSET
        value + MAX_OFFSET
    except OverflowError as exc:
        raise InputError("out_of_range", "The datetime is outside the supported range.") from exc
    return value


class DateTimeField(serializers.DateTimeField):
    """A datetime from a client, in UTC. ``plausible=True``: a time something happened at
    (config.inputs.datetime_plausible); otherwise a bound that must convert to UTC."""

    def __init__(self, *args, plausible: bool = False, **kwargs):
        self.plausible = plausible
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value):
        try:
            _offset_of_text(value)
            parsed = super().to_internal_value(value)
            return self.checked(parsed)
        except InputError as exc:
            _fail(exc)

    def checked(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            return naive_in_range(value)
        return datetime_plausible(value) if self.plausible else to_utc(value)


class LocalDateTimeField(DateTimeField):
    """Keeps a timestamp without an offset naive, so the service reads it in the meter's time
    zone instead of the server's (and checks its plausibility there, once it is placed)."""

    def enforce_timezone(self, value):
        return value


# ---- months -------------------------------------------------------------------------------


class MonthField(serializers.RegexField):
    """A month as ``YYYY-MM`` (the text, as given). ``plausible=True``: a month to bill or
    archive, checked by config.inputs.month_plausible (not before INPUT_EARLIEST_DATETIME's,
    not after this one); otherwise any real month (a filter)."""

    PATTERN = r"^[0-9]{4}-[0-9]{2}$"

    def __init__(self, *, plausible: bool = False, **kwargs):
        self.plausible = plausible
        super().__init__(self.PATTERN, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        # Validators (the pattern) run after this method: "2026-1*" once reached int() here.
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
            raise serializers.ValidationError(f"{value} is not a month (YYYY-MM).", code="invalid")
        year, month = int(value[:4]), int(value[5:])
        if year < 1 or not 1 <= month <= 12:
            raise serializers.ValidationError(f"{value} is not a month (YYYY-MM).", code="invalid")
        if self.plausible:
            try:
                month_plausible(year, month)
            except InputError as exc:
                _fail(exc)
        return value


# ---- numbers ------------------------------------------------------------------------------


class DecimalField(serializers.DecimalField):
    """DRF's DecimalField, always bounded (``max_digits`` and ``decimal_places`` are required:
    an unbounded one let "1e400" through to a service's quantize). With ``rounding`` the value is
    rounded to ``decimal_places`` by config.inputs.to_decimal instead of refused for its extra
    places (registers read to more places than we store)."""

    def __init__(self, max_digits, decimal_places, **kwargs):
        assert max_digits is not None and decimal_places is not None, "bound every decimal"
        super().__init__(max_digits, decimal_places, **kwargs)

    def to_internal_value(self, data):
        if self.rounding is None or isinstance(data, bool):
            return super().to_internal_value(data)
        try:
            return to_decimal(data, max_digits=self.max_digits, decimal_places=self.decimal_places)
        except InputError as exc:
            _fail(exc)


class FloatField(serializers.FloatField):
    """DRF's FloatField, finite only: "1e400" is infinity in float, and a 400-digit integer
    overflows the conversion."""

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data.strip()) > MAX_NUMBER_LENGTH:
            _fail(
                InputError(
                    "number_too_long", f"A number has at most {MAX_NUMBER_LENGTH} characters."
                )
            )
        try:
            value = super().to_internal_value(data)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            _fail(InputError("not_finite", "The number must be finite (not NaN or Infinity)."))
        return value


# ---- JSON values and text -----------------------------------------------------------------


class JSONField(serializers.JSONField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            json_value_check(value)
        except InputError as exc:
            _fail(exc)
        return value


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with the bounded fields for its model fields."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
        models.DecimalField: DecimalField,
        models.FloatField: FloatField,
        models.JSONField: JSONField,
    }


# ---- query filters (django-filter) --------------------------------------------------------


class BoundDateTimeFormField(django_filters.fields.IsoDateTimeField):
    """A datetime query bound: ISO 8601, offsets within ±14:00, convertible to UTC."""

    def to_python(self, value):
        try:
            _offset_of_text(value)
            parsed = super().to_python(value)
            return None if parsed is None else datetime_bound(parsed)
        except InputError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        except OverflowError as exc:
            raise forms.ValidationError(
                "The datetime is outside the supported range.", code="out_of_range"
            ) from exc


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundDateTimeFormField


class FilterSet(drf_filters.FilterSet):
    """Every filterset's base: datetime model fields get the bounded filter."""

    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": DateTimeFilter},
    }


class FilterBackend(drf_filters.DjangoFilterBackend):
    """The default filter backend: filtersets made from ``filterset_fields`` use FilterSet."""

    filterset_base = FilterSet


def filtered(filterset_class, request, queryset):
    """``queryset`` filtered by ``filterset_class`` from the query string, as the list views'
    backend does it: a 400 naming the filter and the rule when a filter is invalid."""
    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset.qs
