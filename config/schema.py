"""The OpenAPI schema's generator: drf-spectacular's, with the errors documented.

Its own module because drf-spectacular's AutoSchema imports DRF's generic views, which load the
pagination class from config.api: importing AutoSchema there would be circular.
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from config.api import ErrorOutput

# What each error status means on every operation that can answer it. An operation documents a
# code only where it can happen: 400 where it takes query parameters, a body or a path parameter
# with a format (a date, a time); 404 where its
# path or a query parameter names a record (or a page beyond the last); 413/415 where it takes a
# body; 409 (a conflict with what is stored) and 503 (reception paused) on every write, since the
# services behind any write may raise them (a view that knows more documents its own text).
_ERRORS = {
    "400": "Invalid input: `detail` names the first field and rule, `fields` every one.",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "Authenticated, but the role may not do this (or a session request without CSRF).",
    "404": "No such record, or not yours (someone else's record is 404, never 403); on a list, "
    "a `page` beyond the last.",
    "409": "The request contradicts what is stored (e.g. another value for the same reading, "
    "an identity already taken).",
    "413": "The request body is larger than the door accepts.",
    "415": "The request body is not in a media type the door reads.",
    "429": "Throttled: retry after the number of seconds in `Retry-After`.",
    "503": "Reception is paused (maintenance): retry after the number of seconds in `Retry-After`.",
}


# A local time of day as the API writes it ("07:30:00"): OpenAPI's `format: time` is RFC 3339's
# full-time, which needs an offset, so a validating client refused every TimeField we answer.
_LOCAL_TIME = {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"}


def _validated_path(parameter: dict) -> bool:
    """A path parameter with a format (a date, a time) is parsed, and a bad one answered 400."""
    return parameter["in"] == "path" and "format" in parameter.get("schema", {})


def _is_nullable_relation(field) -> bool:
    """A read-only relation over a nullable foreign key answers null, but DRF gives read-only
    fields ``allow_null=False``, so drf-spectacular documented them as never null."""
    if not (isinstance(field, serializers.RelatedField) and field.read_only):
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return False
    try:
        return model._meta.get_field(field.source).null
    except FieldDoesNotExist:
        return False


class ApiSchema(AutoSchema):
    """drf-spectacular's schema with every error an operation can answer documented, each
    with the one error shape (the ``Error`` component), so a client (and schemathesis) can rely
    on the documented codes and bodies."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema.get("format") == "time":
            schema = {key: value for key, value in schema.items() if key != "format"}
            schema |= _LOCAL_TIME
        return schema

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if _is_nullable_relation(field):
            meta["nullable"] = True
        return meta

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        codes = ["401", "429"]
        if (
            has_body
            or any(parameter["in"] == "query" for parameter in parameters)
            or any(_validated_path(parameter) for parameter in parameters)
        ):
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()) or has_body:
            codes.append("403")
        if any(parameter["in"] in ("path", "query") for parameter in parameters):
            codes.append("404")
        if has_body:
            codes += ["413", "415"]
        if self.method.upper() not in ("GET", "HEAD", "OPTIONS"):
            codes += ["409", "503"]
        responses = operation["responses"]
        for code in codes:
            responses.setdefault(code, {"description": _ERRORS[code]})
        error = {
            "application/json": {"schema": self.resolve_serializer(ErrorOutput, "response").ref}
        }
        for code, response in responses.items():
            if code >= "400" and "content" not in response:
                response["content"] = error
        operation["responses"] = dict(sorted(responses.items()))
        return operation
