"""Publishing instructions to units over MQTT (QoS 1, one connection per delivery pass). Below the
services (which call it) and beside ``mqtt`` (the ingest's handlers, which call the services)."""

import json
import uuid

import paho.mqtt.client as paho
from django.conf import settings

from config.mqtt import broker_address, client_secure


def _client(client_id: str) -> paho.Client:
    client = paho.Client(
        callback_api_version=paho.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv311,
    )
    client_secure(client)
    client.connect(*broker_address(), keepalive=30)
    return client


def publish_commands(commands: list[tuple[str, dict]]) -> list[str | None]:
    """Publish ``(topic, payload)`` pairs with QoS 1 over one connection and wait for the broker
    to confirm each. Returns, per command, None when confirmed or the reason it was not."""
    timeout = settings.BATTERIES_MQTT_PUBLISH_TIMEOUT
    try:
        client = _client(f"homegrid-cmd-{uuid.uuid4().hex[:12]}")
    except (OSError, ValueError) as exc:
        return [f"broker unreachable ({exc})"] * len(commands)
    client.loop_start()
    try:
        infos = [
            client.publish(topic, json.dumps(payload, separators=(",", ":")), qos=1)
            for topic, payload in commands
        ]
        outcomes = []
        for info in infos:
            try:
                info.wait_for_publish(timeout=timeout)
            except (RuntimeError, ValueError) as exc:
                outcomes.append(f"publish refused ({exc})")
                continue
            outcomes.append(None if info.is_published() else "no confirmation from the broker")
        return outcomes
    finally:
        client.disconnect()
        client.loop_stop()
