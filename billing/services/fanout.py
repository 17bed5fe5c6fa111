"""A month's bills fanned out over Celery workers, for suppliers with a million accounts.

``bill_run_start`` splits the accounts into chunks (``BillRunChunk`` rows, written with the run)
and enqueues one task per chunk after commit. Each task (``bill_run_chunk_do``) generates its
chunk's bills exactly as an in-process run does (``runs.generate_chunk``: one transaction, row
locks on the chunk's accounts) and, in that same transaction, marks the chunk done and counts it
on the run. So a chunk is done once or not at all: a worker killed mid-chunk rolls back and its
task is redelivered (acks late, rejected on a lost worker); a redelivered task of a done chunk,
or a second worker holding the same chunk, does nothing. The task that completes the last chunk
totals the chunks onto the run and finishes it (no chord, so no result backend is needed), and
beat's ``bill_runs_resume`` enqueues again the chunks of a run that stopped making progress.
"""

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from celery import current_app
from django.db import transaction
from django.db.models import F, Max, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import CustomerAccount

from ..models import BillRun, BillRunChunk
from .periods import ended_month
from .runs import CHUNK_ACCOUNTS, generate_chunk

log = logging.getLogger(__name__)

COUNTS = ("created", "regenerated", "unchanged", "issued", "flagged")
CHUNK_TASK = "billing.tasks.bill_run_chunk"
RESUME_AFTER = timedelta(minutes=10)  # a chunk of 2,000 accounts takes seconds


def _enqueue(chunk_ids: list[int]) -> None:
    """After commit (the worker must see the chunks), by name (services sit below tasks);
    robust, so a broker that is down leaves the chunks for ``bill_runs_resume``."""

    def send() -> None:
        task = current_app.tasks[CHUNK_TASK]
        for pk in chunk_ids:
            task.delay(pk)

    transaction.on_commit(send, robust=True)


def bill_run_start(
    *,
    month: date | str,
    accounts: Iterable[CustomerAccount] | None = None,
    issue: bool = True,
    trigger: str = "beat",
    chunk_size: int = CHUNK_ACCOUNTS,
) -> BillRun:
    """Start ``month``'s run for every account (or ``accounts``) on the workers; returns the
    run at once (``run.progress`` says how far it is)."""
    first = ended_month(month)
    if accounts is None:
        ids = list(CustomerAccount.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted({account.pk for account in accounts})
    parts = [ids[offset : offset + chunk_size] for offset in range(0, len(ids), chunk_size)]
    with transaction.atomic():
        run = BillRun.objects.create(
            month=first,
            trigger=trigger,
            started_at=timezone.now(),
            accounts=len(ids),
            issue=issue,
            chunks_total=len(parts),
        )
        chunks = BillRunChunk.objects.bulk_create(
            [BillRunChunk(run=run, number=n, account_ids=part) for n, part in enumerate(parts)],
            batch_size=500,
        )
        if not chunks:
            _finish(run.pk)
            run.refresh_from_db()
        _enqueue([chunk.pk for chunk in chunks])
    return run


def bill_run_chunk_do(*, chunk_id: int) -> str:
    """One chunk's bills, once: "done" (now), "already done", "locked" (another worker has it)
    or "gone" (its run was deleted)."""
    with transaction.atomic():
        chunk = (
            BillRunChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("run")
            .filter(pk=chunk_id)
            .first()
        )
        if chunk is None:
            return "gone" if not BillRunChunk.objects.filter(pk=chunk_id).exists() else "locked"
        if chunk.done_at is not None:
            return "already done"
        summary = generate_chunk(
            account_ids=chunk.account_ids, first=chunk.run.month, issue=chunk.run.issue
        )
        for name in COUNTS:
            setattr(chunk, name, getattr(summary, name))
        chunk.done_at = timezone.now()
        chunk.save()
        BillRun.objects.filter(pk=chunk.run_id).update(chunks_done=F("chunks_done") + 1)
    _finish(chunk.run_id)
    return "done"


def _finish(run_id: int) -> None:
    """Total the chunks onto the run once every one is done (whichever task gets here last)."""
    with transaction.atomic():
        run = BillRun.objects.select_for_update().get(pk=run_id)
        if run.finished_at is not None or run.chunks_done < run.chunks_total:
            return
        totals = run.chunks.aggregate(**{name: Sum(name) for name in COUNTS})
        for name in COUNTS:
            setattr(run, name, totals[name] or 0)
        run.finished_at = timezone.now()
        run.save()
    log.info(
        "bills %s (%s, %s chunks): %s accounts, %s created, %s regenerated, %s unchanged,"
        " %s issued, %s flagged",
        f"{run.month:%Y-%m}",
        run.trigger,
        run.chunks_total,
        run.accounts,
        *(getattr(run, name) for name in COUNTS),
    )


def bill_runs_resume(*, now: datetime | None = None) -> int:
    """Enqueue again the undone chunks of runs that made no progress for ``RESUME_AFTER``
    (no chunk done since, nor the run started): their tasks were lost with a broker restart or
    a worker killed beyond redelivery. A run still being worked through — a million accounts'
    chunks wait in the queue for longer than that — is left alone, so its queue is not doubled;
    once the workers have drained it, any chunk still undone is resumed. Safe to repeat."""
    cutoff = (now or timezone.now()) - RESUME_AFTER
    quiet_runs = (
        BillRun.objects.filter(finished_at__isnull=True)
        .annotate(last_progress=Coalesce(Max("chunks__done_at"), "started_at"))
        .filter(last_progress__lt=cutoff)
        .values("pk")
    )
    stalled = list(
        BillRunChunk.objects.filter(done_at__isnull=True, run__in=quiet_runs)
        .order_by("run", "number")
        .values_list("pk", flat=True)[:5000]
    )
    _enqueue(stalled)
    return len(stalled)
