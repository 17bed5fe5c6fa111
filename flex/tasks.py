"""Beat jobs of the flex app: each a thin call of one service."""

from celery import shared_task

from . import services


@shared_task(name="flex.tasks.flex_replan")
def flex_replan() -> dict:
    return services.flex_replan_all()


@shared_task(name="flex.tasks.flex_profile_outcomes")
def flex_profile_outcomes() -> int:
    return services.plan_outcomes_settle()
