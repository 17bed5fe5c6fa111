from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", AllowedHostsOriginValidator(LiveConsumer.as_asgi())),
]
