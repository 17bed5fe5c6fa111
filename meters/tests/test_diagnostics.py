"""Reading diagnostics (#16): a client's raw object is kept beside its reading, not in it, for
READING_DIAGNOSTICS_RETENTION_DAYS."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from meters import services, tasks
from meters.models import Reading, ReadingDiagnostic
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


def test_it_keeps_a_readings_raw_object_as_its_diagnostic():
    meter = MeterFactory()
    at = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    services.reading_record(meter=meter, at=at, import_kwh=5, source="api", raw={"note": "x"})
    services.reading_record(meter=meter, at=at + timedelta(minutes=30), import_kwh=6, source="api")
    assert Reading.objects.filter(meter=meter).count() == 2
    assert list(ReadingDiagnostic.objects.values_list("meter_id", "at", "raw")) == [
        (meter.pk, at, {"note": "x"})
    ]


@override_settings(READING_DIAGNOSTICS_RETENTION_DAYS=3)
def test_it_prunes_diagnostics_past_their_retention_and_keeps_the_readings():
    meter = MeterFactory()
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    old, recent = now - timedelta(days=4), now - timedelta(days=2)
    services.reading_record(meter=meter, at=old, import_kwh=1, source="api", raw={"n": 1})
    services.reading_record(meter=meter, at=recent, import_kwh=2, source="api", raw={"n": 2})

    assert tasks.prune_reading_diagnostics() == 1

    assert list(ReadingDiagnostic.objects.values_list("raw", flat=True)) == [{"n": 2}]
    assert Reading.objects.filter(meter=meter).count() == 2
