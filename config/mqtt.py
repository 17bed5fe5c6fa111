"""The MQTT broker every process talks to (the ingest, battery commands, the simulator): its
address from ``MQTT_URL`` and the credentials and TLS a client needs, from the ``MQTT_*`` settings
or the URL, in one place."""

import ssl
from urllib.parse import unquote, urlparse

from django.conf import settings


def _uses_tls(url) -> bool:
    return bool(getattr(settings, "MQTT_TLS", False)) or url.scheme in ("mqtts", "ssl")


def broker_address() -> tuple[str, int]:
    url = urlparse(settings.MQTT_URL)
    return url.hostname or "127.0.0.1", url.port or (8883 if _uses_tls(url) else 1883)


def client_secure(client) -> None:
    """Give a paho client the broker's credentials (MQTT_USERNAME/PASSWORD, else the URL's) and,
    for ``mqtts://`` or MQTT_TLS, TLS with MQTT_TLS_CA_CERTS / CERTFILE / KEYFILE / INSECURE."""
    url = urlparse(settings.MQTT_URL)
    username = settings.MQTT_USERNAME or unquote(url.username or "")
    password = settings.MQTT_PASSWORD or unquote(url.password or "")
    if username:
        client.username_pw_set(username, password or None)
    if _uses_tls(url):
        client.tls_set(
            ca_certs=settings.MQTT_TLS_CA_CERTS or None,
            certfile=settings.MQTT_TLS_CERTFILE or None,
            keyfile=settings.MQTT_TLS_KEYFILE or None,
            cert_reqs=ssl.CERT_NONE if settings.MQTT_TLS_INSECURE else ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(settings.MQTT_TLS_INSECURE)
