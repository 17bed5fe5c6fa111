"""Django's error views, in the API's error shape under ``/api/``.

A URL that matches no route, or fails a path converter (``/api/v1/chargers/abc`` where an int
is expected), never reaches DRF, so Django answered its HTML 404 page to API clients. Under
``/api/`` these handlers answer ``{"detail": ..., "fields": {}}`` as JSON instead; the portal and
admin keep Django's pages.
"""

from django.http import JsonResponse
from django.views import defaults

from config.middleware import answers_in_json


def _is_api(request) -> bool:
    return answers_in_json(request.path)


def _error(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "fields": {}}, status=status)


def bad_request(request, exception):
    if _is_api(request):
        return _error("Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return _error("You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return _error(f"No such endpoint or record: {request.path}", 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return _error("Server error: it has been logged.", 500)
    return defaults.server_error(request)
