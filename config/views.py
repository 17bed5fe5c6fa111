import logging

from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from accounts.permissions import IsStaff
from config import health, status

log = logging.getLogger(__name__)


def favicon(request):
    """Browsers and crawlers ask for /favicon.ico whatever the page says: send them the SVG."""
    return redirect(static("favicon.svg"), permanent=True)


def healthz(request):
    """200 when every dependency answers, 503 naming the ones that don't. No auth: for probes.

    What went wrong (which can name hosts and users) is logged, and shown to staff only."""
    results = health.run_checks()
    healthy = all(error is None for error in results.values())
    backends = health.backends()
    for name, error in results.items():
        if error is not None:
            log.warning("healthz: %s failed: %s", name, error)
    show_errors = request.user.is_authenticated and request.user.is_staff
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {
            name: {"ok": error is None, "backend": backends[name]}
            | ({"error": error} if show_errors else {})
            for name, error in results.items()
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)


@extend_schema(
    responses=inline_serializer(
        "Status",
        {
            "versions": serializers.DictField(),
            "uptime_seconds": serializers.FloatField(),
            "now": serializers.DateTimeField(),
            "beat_last_heartbeat": serializers.DateTimeField(allow_null=True),
            "sections": serializers.DictField(),
        },
    )
)
@api_view(["GET"])
@permission_classes([IsStaff])
def status_view(request):
    """Versions, uptime and each app's figures. Staff only (session or token)."""
    return Response(status.collect())
