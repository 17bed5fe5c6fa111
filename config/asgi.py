"""ASGI entry point for daphne: HTTP to Django, websockets to the apps' consumers.

Each app that speaks websockets has ``<app>/routing.py`` with ``websocket_urlpatterns``; a route
wraps its consumer in whatever origin policy it needs (browsers' live updates check the Origin,
chargers send none). Session authentication is available to every route.
"""

import os
from importlib import import_module
from importlib.util import find_spec

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402


def _websocket_urlpatterns() -> list:
    patterns = []
    for app in settings.HOMEGRID_APPS:
        if find_spec(f"{app}.routing"):
            patterns += import_module(f"{app}.routing").websocket_urlpatterns
    return patterns


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(URLRouter(_websocket_urlpatterns())),
    }
)
