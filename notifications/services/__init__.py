"""Notifications' writes, one module per concern:

- events.py       event_publish / events_publish: an event row now, dispatched after commit
- mail.py         event_dispatch / events_dispatch: mail to who wants it (and staff alerts),
                  webhook deliveries
- webhooks.py     webhook_deliver: one signed attempt, with backoff for the next
- preferences.py  which mail each person wants; the endpoints staff register
- sweep.py        beat's safety net: events and deliveries whose task was lost, sent again

Other apps publish with ``event_publish(kind, account=..., payload=...)``.
"""

from .events import event_publish, events_publish
from .mail import event_dispatch, events_dispatch
from .preferences import preferences_set, webhook_endpoint_check, webhook_endpoint_save
from .sweep import notifications_resend_stalled
from .webhooks import Attempt, signature, webhook_deliver, webhook_delivery_retry

__all__ = [
    "Attempt",
    "event_dispatch",
    "event_publish",
    "events_dispatch",
    "events_publish",
    "notifications_resend_stalled",
    "preferences_set",
    "signature",
    "webhook_deliver",
    "webhook_delivery_retry",
    "webhook_endpoint_check",
    "webhook_endpoint_save",
]
