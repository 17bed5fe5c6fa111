"""The API's shared pieces: pagination and the one error shape.

Every error answer is ``{"detail": "<sentence>"}``; invalid input adds ``"fields": {"<field>":
["<rule>", ...]}`` and its detail names the first field and rule, so a client that only logs
``detail`` still learns what to fix.
"""

import csv
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from config.api_fields import body_too_large
from config.exceptions import ApplicationError, ServiceUnavailable


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class ErrorOutput(serializers.Serializer):
    """The one error shape, as the schema's ``Error`` component."""

    detail = serializers.CharField(help_text="What went wrong, naming the first field and rule.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Invalid input only: each field (nested fields as in the request) and the "
        "rules it broke.",
    )


def query_params(serializer_class, request) -> dict:
    """The request's query parameters validated by ``serializer_class`` (a 400 naming the
    parameter and the rule otherwise)."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_response(header: list[str], rows: Iterable[Iterable], filename: str):
    """Stream ``rows`` as CSV under ``header``, never holding the whole export in memory. None
    is written as an empty cell."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(["" if value is None else value for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _first_message(errors, path: str = "") -> tuple[str, str]:
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = key if not path else f"{path}.{key}"
            return _first_message(value, name)
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict | list):
            return _first_message(first, f"{path}[0]" if path else "[0]")
        return path, str(first)
    return path, str(errors)


def _validation_response(fields, headers=None) -> Response:
    if not isinstance(fields, dict):
        fields = {"non_field_errors": fields if isinstance(fields, list) else [fields]}
    field, message = _first_message(fields)
    detail = message if field in ("", "non_field_errors") else f"{field}: {message}"
    return Response(
        {"detail": detail, "fields": fields}, status=status.HTTP_400_BAD_REQUEST, headers=headers
    )


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message, **exc.extra}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        headers = {}
        if isinstance(exc, ServiceUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    # Django raises these while reading a form body; left alone they become its HTML 400 page.
    if isinstance(exc, RequestDataTooBig):
        exc = body_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(str(exc), code="too_many_fields")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(response.data, headers=response.headers)
    if isinstance(exc, exceptions.ParseError):
        # The body as a whole is unreadable: it is the field, so a 400 always has `fields`.
        response.data = {"detail": response.data["detail"], "fields": {"body": [str(exc.detail)]}}
    return response
