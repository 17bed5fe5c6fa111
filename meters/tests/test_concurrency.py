import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from meters import services
from meters.models import DailyUsage, Reading
from meters.services import ReadingIn

from .factories import MeterFactory


@pytest.mark.django_db(transaction=True)
def test_it_stores_a_batch_once_when_two_processes_send_it_at_the_same_time():
    meter = MeterFactory()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    items = [
        ReadingIn(meter_id=meter.meter_id, at=start + timedelta(minutes=30 * i), import_kwh=i)
        for i in range(49)
    ]
    barrier = threading.Barrier(2)
    outcomes = []

    def send():
        try:
            barrier.wait()
            outcomes.append(
                [r.status for r in services.reading_ingest_bulk(items=items, source="mqtt")]
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Sets have no order (sorted() of them keeps the threads' order): compare sorted tuples.
    assert sorted(tuple(sorted(set(statuses))) for statuses in outcomes) == [
        ("accepted",),
        ("duplicate",),
    ]
    assert Reading.objects.count() == 49
    assert DailyUsage.objects.get(meter=meter).import_kwh == 48
