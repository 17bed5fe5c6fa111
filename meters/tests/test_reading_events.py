"""Readings stored become ``reading_stored`` events for the webhooks that subscribe: one per
meter per batch, whichever door the batch came through; none while nobody subscribes."""

from datetime import UTC, datetime, timedelta

import pytest

from meters import services
from meters.services import ReadingIn
from notifications.models import Event, WebhookEndpoint
from notifications.services import webhook_endpoint_save

from .factories import MeterFactory

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)


def series(meter_id: str, count: int, start: float = 100.0) -> list[ReadingIn]:
    return [
        ReadingIn(meter_id=meter_id, at=JAN + k * timedelta(minutes=30), import_kwh=start + k)
        for k in range(count)
    ]


def test_a_batch_is_one_event_per_meter_and_nothing_without_a_subscriber():
    a, b = MeterFactory(), MeterFactory()
    services.reading_ingest_bulk(items=series(a.meter_id, 2), source="mqtt")
    assert not Event.objects.exists()  # nobody listens: not even a row

    webhook_endpoint_save(
        endpoint=WebhookEndpoint(name="Grid", url="http://127.0.0.1:9/", kinds=["reading_stored"])
    )
    items = series(a.meter_id, 5)[2:] + series(b.meter_id, 2, start=7)
    services.reading_ingest_bulk(items=items, source="mqtt")

    events = {e.payload["meter"]: e for e in Event.objects.filter(kind="reading_stored")}
    assert set(events) == {a.meter_id, b.meter_id}
    mine = events[a.meter_id].payload
    assert (mine["readings"], mine["source"], mine["import_kwh"]) == (3, "mqtt", "104.0000")
    assert mine["first_at"] == (JAN + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert events[b.meter_id].account_id == b.account_id

    services.reading_ingest_bulk(items=items, source="mqtt")  # replayed: duplicates, no event
    assert Event.objects.filter(kind="reading_stored").count() == 2
