"""Factories for telemetry devices (attached to a live meter unless ``meter=None``)."""

import factory

from meters.models import MeterKind
from meters.telemetry.models import Device
from meters.tests.factories import MeterFactory


class LiveMeterFactory(MeterFactory):
    kind = MeterKind.LIVE


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    topic = factory.Sequence(lambda n: f"tasmota_{n:05d}")
    meter = factory.SubFactory(LiveMeterFactory)
    tele_period_seconds = 10
