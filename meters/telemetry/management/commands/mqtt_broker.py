"""``python manage.py mqtt_broker``: the embedded MQTT broker of the demo (``make run``).

Runs amqtt on MQTT_URL's host and port when nothing listens there yet. When a real broker already
answers there, or MQTT_URL points at another machine, it stays up idle: honcho stops every process
when one exits, so this one must not. Not for production: use Mosquitto (see README).
"""

import asyncio
import logging
import signal
import socket
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand

log = logging.getLogger("meters.telemetry.broker")

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def _serve(host: str, port: int, stop: asyncio.Event) -> None:
    from amqtt.broker import Broker

    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await broker.start()
    log.info("embedded MQTT broker listening on %s:%s", host, port)
    await stop.wait()
    await broker.shutdown()


async def _idle(stop: asyncio.Event) -> None:
    await stop.wait()


class Command(BaseCommand):
    help = "Run the embedded demo MQTT broker, or idle when a broker is already there."

    def handle(self, *args, **options):
        url = urlparse(settings.MQTT_URL)
        host, port = url.hostname or "127.0.0.1", url.port or 1883
        for noisy in ("amqtt", "transitions"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        asyncio.run(self._run(host, port))

    async def _run(self, host: str, port: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if host not in LOCAL_HOSTS:
            log.info("MQTT_URL points at %s: no embedded broker needed; idling", host)
            await _idle(stop)
        elif port_answers(host, port):
            log.info("a broker already answers on %s:%s: using it; idling", host, port)
            await _idle(stop)
        else:
            await _serve(host, port, stop)
