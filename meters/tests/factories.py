"""Factories for meters and readings. ``ReadingFactory`` writes rows directly (no rules, no
roll-ups); tests of ingest go through ``services.reading_ingest_bulk``/``reading_record``."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from accounts.tests.factories import CustomerAccountFactory
from meters.models import Meter, MeterKind, Reading, ReadingQuality, ReadingSource


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    meter_id = factory.Sequence(lambda n: f"531-{n // 1000 % 1000:03d}-{n % 1000:03d}")
    account = factory.SubFactory(CustomerAccountFactory)
    address = factory.LazyAttribute(lambda meter: meter.account.address)
    postcode = factory.LazyAttribute(lambda meter: meter.account.postcode)
    area = factory.LazyAttribute(lambda meter: meter.account.area)
    region = factory.LazyAttribute(lambda meter: meter.account.region)
    dwelling_type = factory.LazyAttribute(lambda meter: meter.account.dwelling_type)
    kind = MeterKind.INTERVAL
    timezone = "Europe/London"


class ReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reading

    meter = factory.SubFactory(MeterFactory)
    at = factory.Sequence(lambda n: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=30 * n))
    import_kwh = factory.Sequence(lambda n: Decimal(100) + Decimal(n) / 4)
    source = ReadingSource.API
    quality = ReadingQuality.ACTUAL
