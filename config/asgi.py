"""ASGI entry point for daphne: HTTP to Django, websockets to the apps' consumers.

The websocket route table: each app that speaks websockets owns ``<app>/routing.py`` with
``websocket_urlpatterns`` (a route wraps its consumer in whatever origin policy it needs: browsers'
live updates check the Origin, chargers send none); this file says which are mounted. Session
authentication is available to every route.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts import routing as accounts_routing  # noqa: E402  /ws/live/
from charging import routing as charging_routing  # noqa: E402  /ocpp/<charge_point_id>

websocket_urlpatterns = [
    *accounts_routing.websocket_urlpatterns,
    *charging_routing.websocket_urlpatterns,
]


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
