"""The safety net under "dispatched after commit": an event whose dispatch task never reached
the broker (Redis down at the moment of commit, a web process killed between commit and send),
or a delivery whose retry was lost with a killed worker, is sent again by beat. Dispatch and
delivery are idempotent, so a sweep that races a late task sends nothing twice."""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..models import DeliveryState, Event, WebhookDelivery
from .events import enqueue, enqueue_dispatches

STALLED_AFTER = timedelta(minutes=2)
SWEEP_LIMIT = 5000  # per pass: a backlog drains over a few passes, never in one burst


def notifications_resend_stalled(*, now: datetime | None = None) -> dict:
    """Enqueue again what should have been sent more than ``STALLED_AFTER`` ago."""
    cutoff = (now or timezone.now()) - STALLED_AFTER
    events = list(
        Event.objects.filter(dispatched_at__isnull=True, occurred_at__lt=cutoff)
        .order_by("occurred_at")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    deliveries = list(
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING)
        .filter(
            Q(next_attempt_at__lt=cutoff)
            | Q(next_attempt_at__isnull=True, attempts=0, created_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    enqueue_dispatches(events)
    for pk in deliveries:
        enqueue("notifications.tasks.webhook_deliver", pk)
    return {"events": len(events), "deliveries": len(deliveries)}
