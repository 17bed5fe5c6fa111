"""Other apps' topics reach their handlers only through the registry they fill in."""

import pytest
from django.utils import timezone

from batteries import mqtt
from meters.telemetry import registry, services, topics
from meters.telemetry.ingest import subscriptions
from meters.telemetry.services import Message

pytestmark = pytest.mark.django_db


def test_it_routes_battery_topics_to_the_handlers_batteries_registered():
    assert registry.topic_handler(topics.BATTERY_TELEMETRY) is mqtt.handle_telemetry_batch
    assert registry.topic_handler(topics.BATTERY_ACK) is mqtt.handle_command_ack


def test_it_ignores_battery_topics_and_does_not_subscribe_them_without_a_handler(monkeypatch):
    monkeypatch.setattr(registry, "_handlers", {})
    message = Message(
        topic=topics.battery_telemetry_topic("N1-000A-10"),
        payload=b"{}",
        received_at=timezone.now(),
    )

    report = services.messages_store(messages=[message])

    assert report.outcomes == [services.IGNORED]
    assert subscriptions("") == [f"{topics.tele_root()}/#"]
