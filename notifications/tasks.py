"""Celery tasks: each a thin call of one service."""

from celery import shared_task

from . import services


@shared_task(name="notifications.tasks.event_dispatch")
def event_dispatch(event_id: int) -> dict:
    return services.event_dispatch(event_id=event_id)


@shared_task(name="notifications.tasks.events_dispatch")
def events_dispatch(event_ids: list[int]) -> dict:
    return services.events_dispatch(event_ids=event_ids)


@shared_task(bind=True, name="notifications.tasks.webhook_deliver")
def webhook_deliver(self, delivery_id: int) -> str:
    """One attempt; the next is Celery's retry with the service's exponential backoff (the
    service counts attempts and gives up, so Celery's own limit is off)."""
    attempt = services.webhook_deliver(delivery_id=delivery_id)
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in, max_retries=None)
    return attempt.state


@shared_task(name="notifications.tasks.notifications_resend_stalled")
def notifications_resend_stalled() -> dict:
    return services.notifications_resend_stalled()
