"""Webhooks against a real HTTP receiver (http.server in a thread): signed, retried with
backoff while the receiver is down or failing, delivered once when it comes back — the last
through a real Celery worker on the Redis broker, as in production."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory
from config.celery import app as celery_app
from notifications import services
from notifications.models import DeliveryState, Event, WebhookDelivery, WebhookEndpoint
from tests.servers import free_port


class Receiver:
    """An integrator's endpoint: records each request, answers ``status``."""

    def __init__(self, port: int, status: int = 200):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def endpoint_at(port: int, kinds=("bill_issued", "reading_stored")) -> WebhookEndpoint:
    return services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(
            name="Integrator", url=f"http://127.0.0.1:{port}/hook", kinds=list(kinds)
        )
    )


def signed_correctly(endpoint: WebhookEndpoint, headers: dict, body: bytes) -> bool:
    timestamp = headers["X-HomeGrid-Timestamp"].encode()
    expected = hmac.new(endpoint.secret.encode(), timestamp + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-HomeGrid-Signature"], f"sha256={expected.hexdigest()}")


@pytest.mark.django_db
def test_it_posts_a_signed_event_once(django_capture_on_commit_callbacks):
    port = free_port()
    endpoint = endpoint_at(port)
    account = CustomerAccountFactory(account_number="HG00000042")
    with Receiver(port) as receiver:
        with django_capture_on_commit_callbacks(execute=True):
            event = services.event_publish(
                "reading_stored", account=account, payload={"meter": "M1", "kwh": "1.5"}
            )
        delivery = WebhookDelivery.objects.get()
        assert services.webhook_deliver(delivery_id=delivery.pk).state == DeliveryState.DELIVERED

    (headers, body), *more = receiver.requests
    assert more == []  # the second attempt above found it delivered and sent nothing
    assert signed_correctly(endpoint, headers, body)
    assert headers["X-HomeGrid-Delivery"] == str(event.event_id)
    assert json.loads(body) == {
        "id": str(event.event_id),
        "kind": "reading_stored",
        "occurred_at": event.occurred_at.isoformat(),
        "account": "HG00000042",
        "data": {"meter": "M1", "kwh": "1.5"},
    }


@pytest.mark.django_db
def test_it_backs_off_gives_up_after_the_last_attempt_and_staff_can_retry(
    settings, django_capture_on_commit_callbacks
):
    """Attempt by attempt through the service (Celery's retry between them is the last test's
    subject, on a real worker)."""
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    port = free_port()
    endpoint_at(port)
    event = services.event_publish("reading_stored", payload={"meter": "M1"})
    services.event_dispatch(event_id=event.pk)
    delivery = WebhookDelivery.objects.get()
    with Receiver(port, status=500) as receiver:
        waits = [services.webhook_deliver(delivery_id=delivery.pk).retry_in for _ in range(3)]
        assert waits == [30, 60, None]  # doubling, then given up
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.response_status) == (
            DeliveryState.FAILED,
            3,
            500,
        )
        assert len(receiver.requests) == 3

        receiver.status = 204
        with django_capture_on_commit_callbacks(execute=True):
            services.webhook_delivery_retry(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and len(receiver.requests) == 4


@pytest.mark.django_db
def test_it_keeps_events_nobody_subscribed_to_only_when_they_are_mailed():
    assert services.event_publish("reading_stored", payload={"meter": "M1"}) is None
    assert services.event_publish("charger_fault", payload={"message": "x"}) is not None
    assert Event.objects.count() == 1


def _wait_for(condition, timeout: float = 60.0) -> None:
    """Polls until ``condition()`` holds: the worker runs on its own clock."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.1)


@pytest.fixture
def celery_worker_on_redis(transactional_db):
    """A real Celery worker (in a thread, solo pool) on the tests' Redis broker: tasks go
    through the broker, retries wait their countdown."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    try:
        with start_worker(
            celery_app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING"
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = True


def test_it_delivers_once_to_a_receiver_that_was_down_and_came_back(
    settings, celery_worker_on_redis
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.5
    settings.WEBHOOK_MAX_ATTEMPTS = 10
    port = free_port()  # nothing listens there yet: the receiver is down
    endpoint = endpoint_at(port)

    services.event_publish("bill_issued", payload={"number": "HG1-202609-1"})
    _wait_for(lambda: WebhookDelivery.objects.filter(attempts__gte=2).exists())
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and "Connection refused" in delivery.last_error

    with Receiver(port) as receiver:
        _wait_for(lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists())
        time.sleep(2)  # longer than the next backoffs: a second POST would have come by now

    delivery.refresh_from_db()
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert signed_correctly(endpoint, headers, body)
    assert json.loads(body)["data"] == {"number": "HG1-202609-1"}
    assert delivery.attempts >= 3 and delivery.delivered_at is not None


@pytest.mark.django_db
def test_the_sweep_sends_what_a_lost_task_never_sent_and_nothing_twice(
    django_capture_on_commit_callbacks,
):
    """Redis down at the moment of commit: the event row exists, its task does not. Beat's
    sweep dispatches it; a second pass, and a late duplicate of the task, send nothing more."""
    port = free_port()
    endpoint_at(port, kinds=["session_ended"])
    old = timezone.now() - timedelta(minutes=5)
    # As events_publish writes them, without the tasks that got lost.
    lost = Event.objects.create(kind="session_ended", payload={"charger": "CP1"}, occurred_at=old)
    fresh = Event.objects.create(
        kind="session_ended", payload={"charger": "CP2"}, occurred_at=timezone.now()
    )
    with Receiver(port) as receiver:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.notifications_resend_stalled() == {"events": 1, "deliveries": 0}
        with django_capture_on_commit_callbacks(execute=True):
            assert services.notifications_resend_stalled() == {"events": 0, "deliveries": 0}
            services.event_dispatch(event_id=lost.pk)  # the lost task turning up late
    assert [json.loads(body)["data"] for _, body in receiver.requests] == [{"charger": "CP1"}]
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.dispatched_at is not None and fresh.dispatched_at is None  # not stalled yet


@pytest.mark.django_db
def test_the_sweep_resends_a_delivery_whose_retry_was_lost(django_capture_on_commit_callbacks):
    port = free_port()
    endpoint_at(port)
    event = services.event_publish("reading_stored", payload={"meter": "M1"})
    services.event_dispatch(event_id=event.pk)
    delivery = WebhookDelivery.objects.get()
    with Receiver(port, status=503):
        assert services.webhook_deliver(delivery_id=delivery.pk).retry_in == 30
    # The worker holding the retry was killed; three minutes later the receiver is back.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=3)
    )
    with Receiver(port) as receiver, django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_resend_stalled() == {"events": 0, "deliveries": 1}
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and len(receiver.requests) == 1
