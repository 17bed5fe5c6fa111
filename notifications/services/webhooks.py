"""Webhook deliveries: a signed POST of the event's JSON, retried with exponential backoff.

Each request carries ``X-HomeGrid-Event`` (the kind), ``X-HomeGrid-Delivery`` (the event's id:
the same on every attempt, so a receiver can drop a repeat), ``X-HomeGrid-Timestamp`` and
``X-HomeGrid-Signature: sha256=<hex>``, the HMAC-SHA256 with the endpoint's secret of
``"<timestamp>." + body``. A 2xx answer is delivered; anything else (an error status, a
redirect, a refused connection, a timeout) is tried again after
``WEBHOOK_RETRY_BASE_SECONDS * 2^(attempt-1)`` (capped at ``WEBHOOK_RETRY_MAX_SECONDS``), up
to ``WEBHOOK_MAX_ATTEMPTS`` attempts.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import DeliveryState, Event, WebhookDelivery, WebhookEndpoint
from .events import enqueue


@dataclass(frozen=True)
class Attempt:
    state: str
    retry_in: float | None = None


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def webhook_body(event: Event) -> bytes:
    document = {
        "id": str(event.event_id),
        "kind": event.kind,
        "occurred_at": event.occurred_at.isoformat(),
        "account": event.account.account_number if event.account else None,
        "data": event.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx, not a second address to post to."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(endpoint: WebhookEndpoint, event: Event) -> tuple[int | None, str]:
    """(HTTP status or None, error text)."""
    body = webhook_body(event)
    timestamp = str(int(timezone.now().timestamp()))
    request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked at registration
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "HomeGrid-Webhooks/1",
            "X-HomeGrid-Event": event.kind,
            "X-HomeGrid-Delivery": str(event.event_id),
            "X-HomeGrid-Timestamp": timestamp,
            "X-HomeGrid-Signature": signature(
                secret=endpoint.secret, timestamp=timestamp, body=body
            ),
        },
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:300]


def backoff_seconds(attempts: int) -> float:
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    return min(base * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)


@transaction.atomic
def webhook_deliver(*, delivery_id: int) -> Attempt:
    """One attempt at a delivery. The row is locked for the attempt (a second worker holding
    the same task skips it), and a delivered one is never sent again."""
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True).filter(pk=delivery_id).first()
    )
    if delivery is None:
        return Attempt(state="locked")
    if delivery.state != DeliveryState.PENDING:
        return Attempt(state=delivery.state)
    endpoint = delivery.endpoint
    event = Event.objects.select_related("account").get(pk=delivery.event_id)
    now = timezone.now()
    if endpoint.active:
        status, error = _post(endpoint, event)
    else:
        status, error = None, "The endpoint was deactivated."
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = status
    delivery.last_error = error
    retry_in = None
    if status is not None and 200 <= status < 300:
        delivery.state = DeliveryState.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or not endpoint.active:
        delivery.state = DeliveryState.FAILED
        delivery.next_attempt_at = None
    else:
        retry_in = backoff_seconds(delivery.attempts)
        delivery.next_attempt_at = now + timedelta(seconds=retry_in)
    delivery.save()
    return Attempt(state=delivery.state, retry_in=retry_in)


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Staff: try a failed delivery again (a fresh round of attempts)."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.state == DeliveryState.FAILED:
        delivery.state = DeliveryState.PENDING
        delivery.attempts = 0
        delivery.save(update_fields=["state", "attempts"])
        enqueue("notifications.tasks.webhook_deliver", delivery.pk)
    return delivery
