"""Dispatching an event: mail to the people who want it, a delivery per subscribed webhook."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from ..models import (
    MAIL_KINDS,
    STAFF_ALERT_KINDS,
    Event,
    EventKind,
    NotificationPreference,
    WebhookDelivery,
    WebhookEndpoint,
)
from ..registry import MailParts, mail_composer
from .events import enqueue

log = logging.getLogger(__name__)


def staff_recipients() -> list[str]:
    if settings.NOTIFICATIONS_STAFF_EMAILS:
        return list(settings.NOTIFICATIONS_STAFF_EMAILS)
    staff = get_user_model().objects.filter(is_active=True, role="staff").exclude(email="")
    return list(staff.values_list("email", flat=True))


def recipients(event: Event) -> list[str]:
    """The account's people who have not turned the kind off, then staff for staff alerts."""
    emails: list[str] = []
    if event.kind in MAIL_KINDS and event.account_id is not None:
        users = (
            get_user_model()
            .objects.filter(customer_accounts=event.account_id, is_active=True)
            .exclude(email="")
        )
        muted = dict(
            NotificationPreference.objects.filter(user__in=users).values_list(
                "user_id", "muted_kinds"
            )
        )
        emails += [u.email for u in users if event.kind not in muted.get(u.pk, [])]
    if event.kind in STAFF_ALERT_KINDS:
        emails += staff_recipients()
    return list(dict.fromkeys(emails))


def _default_mail(event: Event) -> MailParts:
    payload = event.payload
    body = payload.get("message") or "\n".join(f"{k}: {v}" for k, v in payload.items())
    return MailParts(
        subject=f"HomeGrid: {EventKind(event.kind).label.lower()}", body=body, attachments=[]
    )


def _send(event: Event, emails: list[str]) -> None:
    composer = mail_composer(event.kind)
    parts = composer(event.payload) if composer else _default_mail(event)
    # One message per person: nobody sees who else is on the account.
    messages = []
    for email in emails:
        message = EmailMessage(parts.subject, parts.body, None, [email])
        for name, content, mimetype in parts.attachments:
            message.attach(name, content, mimetype)
        messages.append(message)
    get_connection().send_messages(messages)


@transaction.atomic
def event_dispatch(*, event_id: int) -> dict:
    """Mail and webhook deliveries of one event, once: a second dispatch of the same event (a
    redelivered task) finds it dispatched and does nothing."""
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None or event.dispatched_at is not None:
        return {"dispatched": False}
    emails = recipients(event)
    if emails:
        try:
            _send(event, emails)
        except Exception:
            # Mail must not cost the webhooks: the failure is logged and the event says so.
            log.exception("mail of event %s (%s) failed", event.event_id, event.kind)
            emails = []
    deliveries = 0
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if event.kind in endpoint.kinds:
            delivery, created = WebhookDelivery.objects.get_or_create(
                endpoint=endpoint, event=event
            )
            if created:
                deliveries += 1
                enqueue("notifications.tasks.webhook_deliver", delivery.pk)
    event.dispatched_at = timezone.now()
    event.mailed_to = emails
    event.save(update_fields=["dispatched_at", "mailed_to"])
    return {"dispatched": True, "mailed": len(emails), "deliveries": deliveries}


def events_dispatch(*, event_ids: list[int]) -> dict:
    """``event_dispatch`` of several events, each in its own transaction: one that fails is
    logged and left undispatched for beat's sweep to send again, and the others go on. (A bill
    run publishes an event per bill; one task per event cost the run more in broker round trips
    than the bills themselves.)"""
    dispatched = failed = 0
    for event_id in event_ids:
        try:
            dispatched += event_dispatch(event_id=event_id)["dispatched"]
        except Exception:
            failed += 1
            log.exception("dispatch of event %s failed; the sweep sends it again", event_id)
    return {"events": len(event_ids), "dispatched": dispatched, "failed": failed}
