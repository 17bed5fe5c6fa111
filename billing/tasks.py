from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def bills_issue_previous_month() -> dict:
    """Beat, on the 1st at 02:00 local: issue every account's bill for the month just ended."""
    month = services.previous_month(timezone.localdate())
    run, summary = services.bills_generate(month=month, issue=True, trigger="beat")
    return {"run": run.pk, "created": summary.created, "flagged": summary.flagged}
