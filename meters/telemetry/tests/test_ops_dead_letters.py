"""/ops/ counts dead letters by code, so staff see what kind of input is failing (issue 14 §4)."""

import re

import pytest
from django.utils import timezone

from meters.telemetry import services
from meters.telemetry.services import Message

from .factories import DeviceFactory

pytestmark = pytest.mark.django_db


def test_it_counts_dead_letters_by_code_on_the_operations_page(client, staff, settings):
    device = DeviceFactory()
    now = timezone.now()
    root = settings.TELEMETRY_TOPIC_ROOT
    poison = [
        (f"{root}//SENSOR", b'{"MT681":{"Total_in":1}}'),
        (f"{root}/{'d' * 300}/SENSOR", b'{"MT681":{"Total_in":1}}'),
        (f"{root}/{device.topic}/sensor", b'{"MT681":{"Total_in":1}}'),
        (f"{root}/{device.topic}/SENSOR", b"[" * 100 + b"]" * 100),
        (f"{root}/{device.topic}/SENSOR", b'{"MT681":{"Total_in":1e400}}'),
        (f"{root}/{device.topic}/SENSOR", b'{"MT681":{"Total_in":2e400}}'),
    ]
    services.messages_store(
        messages=[Message(topic=t, payload=p, received_at=now) for t, p in poison]
    )
    client.force_login(staff)

    page = client.get("/ops/").text

    codes = re.search(r'<span id="dead-letter-codes">(.*?)</span>', page).group(1)
    assert codes == (
        "device_too_long: 1, empty_device: 1, out_of_range: 2, too_deep: 1, unknown_topic_kind: 1"
    )
    assert "dead letters: 6" in page
