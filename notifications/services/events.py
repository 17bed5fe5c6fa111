"""Publishing events: one row in the caller's transaction, dispatched by Celery after commit,
so the request that caused the event never waits for mail or webhooks."""

import json
from collections.abc import Iterable
from datetime import datetime

from celery import current_app
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import CustomerAccount
from config.exceptions import ApplicationError

from ..models import MAIL_KINDS, Event, EventKind, WebhookEndpoint


def enqueue(task: str, *args) -> None:
    """Send one of this app's Celery tasks (registered by apps.py) after commit: the worker
    must see what the transaction wrote. By name, because services sit below the tasks door.
    Robust: a broker that is down is logged, never turned into an error for the request (or the
    OCPP call, or the ingest batch) whose work is already committed; the event row stays
    undelivered for the beat sweep to resend."""
    transaction.on_commit(lambda: current_app.tasks[task].delay(*args), robust=True)


# Events dispatched by one task: a bill run's thousands of events reach the broker as tens of
# messages, and one slow mail delays at most this many others.
DISPATCH_BATCH = 100


def enqueue_dispatches(event_ids: list[int]) -> None:
    """The dispatch of these events after commit, ``DISPATCH_BATCH`` to a task."""
    for start in range(0, len(event_ids), DISPATCH_BATCH):
        enqueue("notifications.tasks.events_dispatch", event_ids[start : start + DISPATCH_BATCH])


def _plain(payload: dict) -> dict:
    """JSON-safe: Decimals, dates and UUIDs as the strings DjangoJSONEncoder writes."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _wanted(kind: str) -> bool:
    """Kinds nobody is mailed about (reading stored, session ended) are kept only while an
    endpoint wants them: a reading is stored thousands of times a second."""
    if kind in MAIL_KINDS:
        return True
    endpoints = WebhookEndpoint.objects.filter(active=True).values_list("kinds", flat=True)
    return any(kind in kinds for kinds in endpoints)


def events_publish(
    *,
    kind: str,
    items: Iterable[tuple[int | None, dict]],
    occurred_at: datetime | None = None,
) -> list[Event]:
    """Events of one kind, one per ``(account_id, payload)``, written in bulk and dispatched
    after commit (mail, webhooks). Returns the events written (none when nobody wants them)."""
    if kind not in EventKind.values:
        raise ApplicationError(f"kind: no event kind {kind!r}.", field="kind")
    if not _wanted(kind):
        return []
    at = occurred_at or timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(kind=kind, account_id=account_id, payload=_plain(payload), occurred_at=at)
            for account_id, payload in items
        ],
        batch_size=2000,
    )
    enqueue_dispatches([event.pk for event in events])
    return events


def event_publish(
    kind: str,
    *,
    account: CustomerAccount | None = None,
    payload: dict,
    occurred_at: datetime | None = None,
) -> Event | None:
    """Something happened to ``account`` (or to no account: staff hear of it): the people who
    want ``kind`` are mailed and subscribed webhooks are called, after commit, by Celery."""
    events = events_publish(
        kind=kind, items=[(account.pk if account else None, payload)], occurred_at=occurred_at
    )
    return events[0] if events else None
