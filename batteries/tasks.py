"""Celery tasks: each a thin call of one service (scheduled in BATTERIES_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task
def monitoring_pass() -> dict:
    result = services.monitoring_run()
    return {"opened": sum(result.opened.values()), "resolved": sum(result.resolved.values())}


@shared_task
def instructions_pass() -> dict:
    return services.rules_evaluate()


@shared_task(acks_late=True)
def instructions_deliver_task(instruction_ids: list[str]) -> dict:
    return services.instructions_deliver(instruction_ids=instruction_ids)
