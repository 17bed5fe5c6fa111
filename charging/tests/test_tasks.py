"""Beat jobs: offline detection and the message log's retention."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from charging import tasks
from charging.models import OcppMessage

from .factories import ChargerFactory

pytestmark = pytest.mark.django_db


@override_settings(CHARGING_OFFLINE_GRACE=60)
def test_it_marks_a_charger_offline_after_two_missed_heartbeats_and_the_grace():
    now = timezone.now()
    silent = ChargerFactory(
        connected=True,
        channel_name="specific.x!y",
        heartbeat_interval=300,
        last_message_at=now - timedelta(seconds=661),
    )
    quiet_but_in_time = ChargerFactory(
        connected=True, heartbeat_interval=300, last_message_at=now - timedelta(seconds=650)
    )
    assert tasks.chargers_mark_offline.delay().get() == 1
    silent.refresh_from_db()
    quiet_but_in_time.refresh_from_db()
    assert not silent.connected and silent.channel_name == "" and silent.disconnected_at
    assert quiet_but_in_time.connected


@override_settings(CHARGING_MESSAGE_RETENTION_DAYS=30)
def test_it_purges_frames_older_than_the_retention():
    charger = ChargerFactory()
    old = OcppMessage.objects.create(
        charger=charger,
        charge_point_id=charger.charge_point_id,
        direction="in",
        frame="[]",
        created_at=timezone.now() - timedelta(days=31),
    )
    kept = OcppMessage.objects.create(
        charger=charger, charge_point_id=charger.charge_point_id, direction="in", frame="[]"
    )
    assert tasks.ocpp_messages_purge.delay().get() == 1
    assert list(OcppMessage.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not OcppMessage.objects.filter(pk=old.pk).exists()
