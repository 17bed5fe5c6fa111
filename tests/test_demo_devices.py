"""The demo's simulated devices describe themselves as staff would describe real ones (#20)."""

import random

import pytest

from meters.models import MeterKind
from meters.telemetry.models import Device as TelemetryDevice
from meters.tests.factories import MeterFactory
from portal.management.commands.simulate_devices import Command, Device

pytestmark = pytest.mark.django_db


def test_the_simulator_records_its_tele_period_on_each_device():
    meter = MeterFactory(kind=MeterKind.LIVE)
    simulated = Device(meter, solar=False, rng=random.Random(1))
    Command()._announce([simulated], 10)
    device = TelemetryDevice.objects.get(topic=simulated.topic)
    assert device.meter == meter and device.tele_period_seconds == 10

    Command()._announce([simulated], 15)  # a restart with another period updates, never duplicates
    assert TelemetryDevice.objects.get(topic=simulated.topic).tele_period_seconds == 15
    assert TelemetryDevice.objects.count() == 1


def test_the_device_topic_help_text_survives_the_admin(admin_client):
    page = admin_client.get("/admin/telemetry/device/add/").content.decode()
    assert "tele/TOPIC/SENSOR" in page and "tele//SENSOR" not in page
