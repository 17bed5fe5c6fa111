"""Who hears about a charger: its owner (and staff) are mailed when it faults or goes silent,
and a session's end becomes an event for the webhooks that want it — written in the same
transaction as what caused it, once per transition, not once per repeated status."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from charging import services
from charging.tests.factories import ChargerFactory
from notifications import services as notification_services
from notifications.models import Event, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def charger(owner):
    return ChargerFactory(account=CustomerAccountFactory(users=[owner]))


def status(charger, value, error_code="NoError", seconds=0):
    at = timezone.now() + timedelta(seconds=seconds)
    services.status_notification_record(
        charger=charger,
        connector_id=1,
        status=value,
        error_code=error_code,
        timestamp=at.isoformat(),
        info="RCD tripped" if value == "Faulted" else None,
    )


def test_a_fault_mails_the_owner_and_staff_once_per_transition(
    charger, owner, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        status(charger, "Available")
        status(charger, "Faulted", "GroundFailure", seconds=1)
        status(charger, "Faulted", "GroundFailure", seconds=2)  # repeated: no second mail

    event = Event.objects.get(kind="charger_fault")
    assert event.account_id == charger.account_id
    assert event.payload["error_code"] == "GroundFailure" and event.payload["reason"] == "faulted"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, staff.email])
    assert "GroundFailure: RCD tripped" in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True):
        status(charger, "Available", seconds=3)
        status(charger, "Faulted", "GroundFailure", seconds=4)  # a new fault is told again
    assert Event.objects.filter(kind="charger_fault").count() == 2


def test_a_charger_that_goes_silent_is_told_as_offline(
    charger, owner, django_capture_on_commit_callbacks
):
    charger.connected = True
    charger.heartbeat_interval = 60
    charger.last_message_at = timezone.now() - timedelta(hours=1)
    charger.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.chargers_mark_offline() == 1
        assert services.chargers_mark_offline() == 0  # already offline: told once

    event = Event.objects.get(kind="charger_fault")
    assert event.payload == {
        "charger": charger.charge_point_id,
        "connector_id": 0,
        "reason": "offline",
        "message": event.payload["message"],
    }
    assert charger.charge_point_id in event.payload["message"]
    assert owner.email in [m.to[0] for m in mail.outbox]


def test_a_session_end_is_an_event_only_while_a_webhook_wants_it(charger):
    def session(n):
        started = timezone.now() - timedelta(hours=2)
        start = services.transaction_start(
            charger=charger,
            connector_id=1,
            id_tag=f"TAG{n}",
            meter_start=1000,
            timestamp=started.isoformat(),
        )
        services.transaction_stop(
            charger=charger,
            transaction_id=start.transaction.pk,
            meter_stop=8500,
            timestamp=(started + timedelta(hours=1)).isoformat(),
            reason="EVDisconnected",
        )
        return start.transaction.pk

    session(1)
    assert not Event.objects.filter(kind="session_ended").exists()  # nobody listens

    notification_services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(
            name="Fleet", url="http://127.0.0.1:9/hook", kinds=["session_ended"]
        )
    )
    transaction_id = session(2)
    event = Event.objects.get(kind="session_ended")
    assert event.payload["transaction_id"] == transaction_id
    assert event.payload["energy_kwh"] == "7.500"
    assert event.payload["stop_reason"] == "EVDisconnected"
