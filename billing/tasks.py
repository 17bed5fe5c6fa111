from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def bills_issue_previous_month() -> dict:
    """Beat, on the 1st at 02:00 local: issue every account's bill for the month just ended."""
    month = services.previous_month(timezone.localdate())
    run = services.bill_run_start(month=month, issue=True, trigger="beat")
    return {"run": run.pk, "accounts": run.accounts, "chunks": run.chunks_total}


# Acks late and rejected when the worker process dies: a chunk killed half-way is delivered
# again (its transaction rolled back, nothing of it written).
@shared_task(name="billing.tasks.bill_run_chunk", acks_late=True, reject_on_worker_lost=True)
def bill_run_chunk(chunk_id: int) -> str:
    return services.bill_run_chunk_do(chunk_id=chunk_id)


@shared_task(name="billing.tasks.bill_runs_resume")
def bill_runs_resume() -> int:
    """Beat: chunks of unfinished runs whose task was lost, enqueued again."""
    return services.bill_runs_resume()
