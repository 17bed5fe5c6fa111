"""Events that happened to an account, the mail and webhooks they make, and who wants which.

An ``Event`` is written by ``services.event_publish`` in the transaction of whatever caused it
and dispatched after commit by Celery: mail to the account's people who want that kind (and to
staff for staff alerts), and one ``WebhookDelivery`` per active endpoint subscribed to it.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models

from accounts.models import CustomerAccount


class EventKind(models.TextChoices):
    BILL_ISSUED = "bill_issued", "Bill issued"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    BATTERY_ALERT = "battery_alert", "Battery alert raised"
    CHARGER_FAULT = "charger_fault", "Charger faulted or offline"
    READ_REFUSED = "read_refused", "Submitted meter read refused"
    READING_STORED = "reading_stored", "Reading stored"
    SESSION_ENDED = "session_ended", "Charging session ended"


# What a customer may be mailed about (each can be turned off on the profile page).
MAIL_KINDS = [
    EventKind.BILL_ISSUED,
    EventKind.PAYMENT_RECEIVED,
    EventKind.BATTERY_ALERT,
    EventKind.CHARGER_FAULT,
    EventKind.READ_REFUSED,
]
# What staff are mailed about too, whatever the customer chose.
STAFF_ALERT_KINDS = [EventKind.BATTERY_ALERT, EventKind.CHARGER_FAULT]


class Event(models.Model):
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    account = models.ForeignKey(
        CustomerAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    mailed_to = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["kind", "occurred_at"]),
            # The sweep's question (what was never dispatched?) on a table of millions.
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="event_undispatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class NotificationPreference(models.Model):
    """The kinds of mail a user has turned off (everything is on until they do)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    muted_kinds = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: muted {', '.join(self.muted_kinds) or 'nothing'}"


def _new_secret() -> str:
    return secrets.token_hex(32)


class WebhookEndpoint(models.Model):
    """An integrator's URL. Each delivery is signed with ``secret`` (HMAC-SHA256)."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, default=_new_secret)
    kinds = models.JSONField(default=list, help_text="Event kinds sent to this URL.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending (retrying)"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed: gave up"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(
        max_length=9, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_event")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event.kind} -> {self.endpoint.name}: {self.state}"
