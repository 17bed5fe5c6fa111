"""Beat jobs of the charging app: each a thin call of one service."""

from celery import shared_task

from . import services


@shared_task
def chargers_mark_offline() -> int:
    return services.chargers_mark_offline()


@shared_task
def ocpp_messages_purge() -> int:
    return services.ocpp_messages_purge()
