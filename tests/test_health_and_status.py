import socket

import pytest
from django.db import connections

from config import health

pytestmark = pytest.mark.django_db


def test_healthz_reports_every_dependency_healthy(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert {"database", "cache", "broker"} <= checks.keys()
    assert all(check["ok"] for check in checks.values())
    assert checks["database"]["backend"] == "postgresql"
    assert checks["broker"]["backend"] == "redis"


@pytest.fixture
def database_on_a_closed_port():
    """Point the default connection at a port nothing listens on, then put it back."""
    connection = connections["default"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port)
    yield
    connection.close()
    connection.settings_dict["PORT"] = original


@pytest.mark.django_db(transaction=True)
def test_healthz_reports_a_database_that_is_down_as_503(client, database_on_a_closed_port):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["cache"]["ok"] is True
    assert "error" not in body["checks"]["database"]  # hosts and users are not for anyone


def test_healthz_tells_staff_what_went_wrong(client, staff):
    client.force_login(staff)
    cache_check = health.CHECKS["cache"]
    health.CHECKS["cache"] = lambda: "cache did not return what was stored"
    try:
        body = client.get("/healthz").json()
    finally:
        health.CHECKS["cache"] = cache_check

    assert body["checks"]["cache"] == {
        "ok": False,
        "backend": "RedisCache",
        "error": "cache did not return what was stored",
    }


def test_status_is_for_staff_only(api, customer, analyst):
    assert api.get("/status").status_code == 401
    assert api.as_user(customer).get("/status").status_code == 403
    assert api.as_user(analyst).get("/status").status_code == 403


def test_status_shows_versions_uptime_and_app_sections(api, staff, customer):
    body = api.as_user(staff).get("/status").json()

    assert body["versions"]["django"].startswith("5.2")
    assert body["uptime_seconds"] >= 0
    assert body["sections"]["accounts"]["users"]["customer"] == 1
    assert body["sections"]["accounts"]["customer_accounts"] == 1
    broken = {name: section for name, section in body["sections"].items() if "error" in section}
    assert broken == {}


def test_status_records_the_beat_heartbeat(api, staff):
    from config.tasks import beat_heartbeat

    beat_heartbeat.delay()

    assert api.as_user(staff).get("/status").json()["beat_last_heartbeat"] is not None


def test_favicon_ico_answers_with_the_sites_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
