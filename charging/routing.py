"""Chargers connect at ``/ocpp/<charge_point_id>``. No origin check: chargers send no Origin."""

from django.urls import re_path

from .consumers import OcppConsumer

websocket_urlpatterns = [
    re_path(r"^ocpp/(?P<charge_point_id>[^/]{1,48})/?$", OcppConsumer.as_asgi()),
]
