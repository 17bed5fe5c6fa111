"""Ingest's COPY straight into the readings, and its way out when a key is already taken."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from meters.models import Reading
from meters.services import ReadingIn, reading_record
from meters.services.storage import _write_readings
from meters.services.validation import _validate_item

from .factories import MeterFactory

pytestmark = pytest.mark.django_db
JAN = datetime(2026, 1, 10, tzinfo=UTC)


def _candidates(meter, values):
    latest = timezone.now() + timedelta(minutes=5)
    return [
        _validate_item(
            index,
            ReadingIn(meter_id=meter.meter_id, at=at, import_kwh=kwh, power_w=power),
            meter,
            latest,
        )
        for index, (at, kwh, power) in enumerate(values)
    ]


def test_it_copies_every_column_of_a_batch_into_the_readings():
    meter = MeterFactory()
    _write_readings(
        _candidates(meter, [(JAN, "10.5", 250), (JAN + timedelta(minutes=30), 11, None)]), "api"
    )
    stored = list(
        Reading.objects.filter(meter=meter)
        .order_by("at")
        .values_list("at", "import_kwh", "power_w", "source", "quality", "register_reset")
    )
    assert stored == [
        (JAN, Decimal("10.5"), 250.0, "api", "actual", False),
        (JAN + timedelta(minutes=30), Decimal(11), None, "api", "actual", False),
    ]


def test_a_key_taken_behind_ingests_back_keeps_the_stored_reading_and_writes_the_rest():
    meter = MeterFactory()
    reading_record(meter=meter, at=JAN, import_kwh=10, source="api")
    later = JAN + timedelta(minutes=30)

    _write_readings(_candidates(meter, [(JAN, 99, None), (later, 12, None)]), "api")

    stored = dict(Reading.objects.filter(meter=meter).values_list("at", "import_kwh"))
    assert stored == {JAN: Decimal(10), later: Decimal(12)}
