"""A month's run fanned out over workers (issue #16 §4): a task per chunk of accounts, each done
once or not at all, the run finished by whichever chunk completes it — eagerly, and through a
real Celery worker on the Redis broker."""

import time
from datetime import date, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory
from billing import selectors, services
from billing.models import Bill, BillRun, BillRunChunk, BillState
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from billing.tests.test_services import daily_readings
from config.celery import app as celery_app
from meters.tests.factories import MeterFactory

MONTH = "2026-09"


def accounts_with_usage(n: int) -> list:
    tariff = TariffFactory()
    accounts = []
    for k in range(n):
        account = CustomerAccountFactory()
        TariffAssignmentFactory(account=account, tariff=tariff)
        daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 10, 1), 5 + k)
        accounts.append(account)
    return accounts


@pytest.mark.django_db
def test_it_fans_a_month_out_in_chunks_and_finishes_with_the_totals(
    django_capture_on_commit_callbacks,
):
    accounts_with_usage(5)
    with django_capture_on_commit_callbacks(execute=True):  # each chunk's task, eagerly
        run = services.bill_run_start(month=MONTH, chunk_size=2, trigger="admin")
    run.refresh_from_db()
    assert (run.accounts, run.chunks_total, run.chunks_done) == (5, 3, 3)
    assert (run.created, run.issued, run.flagged, run.progress) == (5, 5, 0, "finished")
    assert [len(chunk.account_ids) for chunk in run.chunks.all()] == [2, 2, 1]
    assert Bill.objects.filter(state=BillState.ISSUED).count() == 5
    assert selectors.bill_run_status()["last_run"]["progress"] == "finished"  # on /ops/

    with django_capture_on_commit_callbacks(execute=True):  # the month again: nothing new
        again = services.bill_run_start(month=MONTH, chunk_size=2)
    again.refresh_from_db()
    assert (again.created, again.unchanged, again.finished_at is not None) == (0, 5, True)
    assert Bill.objects.count() == 5


@pytest.mark.django_db
def test_a_chunk_is_done_once_or_not_at_all(django_capture_on_commit_callbacks):
    """A worker killed mid-chunk is its transaction never committed: nothing of the chunk is
    written, and the redelivered task does it whole; a redelivery after it is done does nothing."""
    accounts_with_usage(3)
    run = services.bill_run_start(month=MONTH, chunk_size=2)  # tasks not sent (not committed)
    first, second = run.chunks.all()
    assert selectors.bill_run_status()["last_run"]["progress"] == "0 of 2 chunks"

    class Killed(Exception):
        pass

    with pytest.raises(Killed), transaction.atomic():
        assert services.bill_run_chunk_do(chunk_id=first.pk) == "done"
        assert Bill.objects.count() == 2
        raise Killed  # the worker dies before its commit
    first.refresh_from_db()
    assert first.done_at is None and Bill.objects.count() == 0
    assert BillRun.objects.get().chunks_done == 0

    assert services.bill_run_chunk_do(chunk_id=first.pk) == "done"  # redelivered
    assert services.bill_run_chunk_do(chunk_id=first.pk) == "already done"
    assert Bill.objects.count() == 2 and BillRun.objects.get().finished_at is None
    assert services.bill_run_chunk_do(chunk_id=second.pk) == "done"
    run.refresh_from_db()
    assert (run.chunks_done, run.created, run.progress) == (2, 3, "finished")
    assert Bill.objects.count() == 3


@pytest.mark.django_db
def test_beat_resumes_the_chunks_whose_task_was_lost(django_capture_on_commit_callbacks):
    accounts_with_usage(2)
    run = services.bill_run_start(month=MONTH, chunk_size=1)  # its tasks never sent
    assert services.bill_runs_resume() == 0  # too fresh to call lost
    BillRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.bill_runs_resume() == 2
    run.refresh_from_db()
    assert run.progress == "finished" and run.created == 2
    assert services.bill_runs_resume() == 0


@pytest.mark.django_db
def test_beat_leaves_a_run_alone_while_its_chunks_are_still_being_done():
    """A run of a million accounts waits in the queue longer than RESUME_AFTER: as long as its
    chunks keep finishing, the ones still queued are not enqueued a second time."""
    accounts_with_usage(3)
    run = services.bill_run_start(month=MONTH, chunk_size=1)  # tasks not sent (not committed)
    first = run.chunks.first()
    long_ago = timezone.now() - timedelta(minutes=45)
    BillRun.objects.filter(pk=run.pk).update(started_at=long_ago)
    assert services.bill_run_chunk_do(chunk_id=first.pk) == "done"  # a worker, just now

    assert services.bill_runs_resume() == 0  # progressing: the other two are in the queue
    later = timezone.now() + timedelta(minutes=11)
    assert services.bill_runs_resume(now=later) == 2  # no progress since: their tasks were lost


@pytest.mark.django_db
def test_a_run_of_no_accounts_finishes_at_once():
    run = services.bill_run_start(month=MONTH, accounts=[])
    assert (run.chunks_total, run.progress) == (0, "finished")


@pytest.fixture
def worker():
    """A real Celery worker (in a thread, solo pool) on the tests' Redis broker."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    try:
        with start_worker(
            celery_app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING"
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_chunks_through_the_broker(worker):
    accounts_with_usage(4)
    run = services.bill_run_start(month=MONTH, chunk_size=2)  # committed: the tasks are sent
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.finished_at is not None:
            break
        time.sleep(0.2)
    assert (run.progress, run.chunks_done, run.created, run.issued) == ("finished", 2, 4, 4)
    assert BillRunChunk.objects.filter(done_at__isnull=True).count() == 0
    assert Bill.objects.count() == 4
