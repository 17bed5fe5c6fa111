"""Ingest pushes each meter's newest reading to the portal's live channel, at most once an
interval per meter, through the real Redis channel layer."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.utils import timezone

from accounts import live
from meters import services
from meters.models import MeterKind
from meters.services import ReadingIn
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def staff_channel():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.STAFF_GROUP, channel)
    await live.watch([live.STAFF_GROUP])  # what an open staff socket does
    yield layer, channel
    await layer.group_discard(live.STAFF_GROUP, channel)


async def _received(layer, channel) -> list[dict]:
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
        except TimeoutError:
            return messages


@database_sync_to_async
def _ingest(meters, at, kwh) -> None:
    services.reading_ingest_bulk(
        items=[ReadingIn(meter_id=m.meter_id, at=at, import_kwh=kwh) for m in meters],
        source="mqtt",
    )


@database_sync_to_async
def _live_meters(count: int) -> list:
    return [MeterFactory(kind=MeterKind.LIVE) for _ in range(count)]


async def test_it_pushes_each_meters_newest_reading_once_an_interval_at_most(
    staff_channel, settings
):
    settings.LIVE_PUSH_MIN_INTERVAL_SECONDS = 60  # far longer than the test, on any machine
    layer, channel = staff_channel
    meters = await _live_meters(3)
    now = timezone.now().replace(microsecond=0)

    await _ingest(meters, now - timedelta(seconds=20), 10)
    first = await _received(layer, channel)
    await _ingest(meters, now - timedelta(seconds=10), 11)
    throttled = await _received(layer, channel)
    # The interval passes:
    await database_sync_to_async(cache.delete_many)([f"live:meter:{m.meter_id}" for m in meters])
    await _ingest(meters, now, 12)
    later = await _received(layer, channel)

    assert sorted(m["data"]["meter_id"] for m in first) == sorted(m.meter_id for m in meters)
    assert {m["kind"] for m in first} == {"meter.reading"}
    assert throttled == []
    assert [m["data"]["at"] for m in later] == [now.isoformat()] * 3


async def test_it_pushes_nothing_for_a_backfill(staff_channel):
    layer, channel = staff_channel
    [meter] = await _live_meters(1)

    await _ingest([meter], timezone.now() - timedelta(days=2), 5)

    assert await _received(layer, channel) == []
