from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from meters.telemetry import supervision

pytestmark = pytest.mark.django_db


def _beat(seconds_ago: int) -> None:
    supervision.heartbeat_write(client_id="ingest-x", beat={"connected": True})
    key = supervision.HEARTBEAT_KEY.format(client_id="ingest-x")
    beat = cache.get(key)
    beat["written_at"] = (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()
    cache.set(key, beat)


def test_it_keeps_healthz_green_while_no_ingest_ever_reported(client):
    body = client.get("/healthz").json()
    assert body["checks"]["mqtt_ingest"]["ok"] is True


def test_it_fails_healthz_once_the_ingest_stopped_reporting(client, staff):
    client.force_login(staff)  # staff are told why
    _beat(seconds_ago=600)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no ingest heartbeat" in response.json()["checks"]["mqtt_ingest"]["error"]
    _beat(seconds_ago=0)
    assert client.get("/healthz").json()["checks"]["mqtt_ingest"]["ok"] is True


def test_it_shows_the_ingest_on_status(api, staff):
    _beat(seconds_ago=0)
    section = api.as_user(staff).get("/status").json()["sections"]["telemetry"]
    assert section["status"] == "healthy"
    assert section["processes"][0]["client_id"] == "ingest-x"
    assert section["devices"]["total"] == 0
