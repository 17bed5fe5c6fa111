"""The OpenAPI schema's generator: drf-spectacular's, with the errors documented.

Its own module because drf-spectacular's AutoSchema imports DRF's generic views, which load the
pagination class from config.api: importing AutoSchema there would be circular.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from config.api import ErrorOutput

# What each error status means on every operation that can answer it. An operation documents a
# code only where it can happen: 400 where it takes query parameters or a body, 404 where its
# path names a record, 413/415 where it takes a body. 409 and 503 are declared by the views
# whose services raise them (a conflict with what is stored, reception paused).
_ERRORS = {
    "400": "Invalid input: `detail` names the first field and rule, `fields` every one.",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "Authenticated, but the role may not do this (or a session request without CSRF).",
    "404": "No such record, or not yours (someone else's record is 404, never 403).",
    "413": "The request body is larger than the door accepts.",
    "415": "The request body is not in a media type the door reads.",
    "429": "Throttled: retry after the number of seconds in `Retry-After`.",
}


class ApiSchema(AutoSchema):
    """drf-spectacular's schema with every error an operation can answer documented, each
    with the one error shape (the ``Error`` component), so a client (and schemathesis) can rely
    on the documented codes and bodies."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        codes = ["401", "429"]
        if has_body or any(parameter["in"] == "query" for parameter in parameters):
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()) or has_body:
            codes.append("403")
        if any(parameter["in"] == "path" for parameter in parameters):
            codes.append("404")
        if has_body:
            codes += ["413", "415"]
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
