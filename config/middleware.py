"""Request-level edges, before any view: NUL bytes in the URL, chunked bodies.

- A NUL byte (``%00``) can be in no path or query value we serve, and PostgreSQL refuses it in
  a query (a 500 wherever a view looked the value up): such a request is answered 400 here, in
  the API's error shape wherever the answer is JSON (``answers_in_json``).
- A chunked request body (``Transfer-Encoding: chunked``) reaches Django under daphne as a
  complete spooled file but without a Content-Length, so DRF took the body as empty ("Expected a
  list"). Its length is known once spooled: it is set as CONTENT_LENGTH, after which Django's
  DATA_UPLOAD_MAX_MEMORY_SIZE and the parsers' limits apply as to any body.
"""

import io
from urllib.parse import parse_qsl

from django.http import HttpResponseBadRequest, JsonResponse

API_PREFIX = "/api/"
NUL_MESSAGE = "The URL must not contain NUL (%00)."


def answers_in_json(path: str) -> bool:
    """The API under /api/, and the portal's JSON doors (``/dashboard/<meter>/series.json``...):
    their errors, too, come in the API's JSON shape."""
    return path.startswith(API_PREFIX) or path.endswith(".json")


def _has_nul(request) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query


def _nul_places(request) -> list[str]:
    """The query parameters (or "path") a NUL byte is in, for the error's ``fields``."""
    if "\x00" in request.path:
        return ["path"]
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return [name for name, value in pairs if "\x00" in name + value] or ["query"]


def _spooled_length(stream) -> int | None:
    """The length of a seekable body file (ASGI spools the whole body before the view runs),
    or None when the body is a socket stream whose length cannot be known without reading."""
    try:
        if not stream.seekable():
            return None
        position = stream.tell()
        length = stream.seek(0, io.SEEK_END) - position
        stream.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return length


class RequestEdgeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            if answers_in_json(request.path):
                fields = {name: [NUL_MESSAGE] for name in _nul_places(request)}
                return JsonResponse({"detail": NUL_MESSAGE, "fields": fields}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain")
        if (
            not request.META.get("CONTENT_LENGTH")
            and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            length = _spooled_length(getattr(request, "_stream", None))
            if length is not None:
                request.META["CONTENT_LENGTH"] = str(length)
        return self.get_response(request)
