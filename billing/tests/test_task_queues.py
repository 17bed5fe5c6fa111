"""Mail and webhooks on a queue of their own (issue #16 §4): a month's run issues a bill per
account and each bill's announcement is a task; on the queue of the chunks, the run's chunks
waited behind its mail. The chunks stay on ``celery``, notifications go to ``notifications``, and
the worker the Procfile starts (what ``make run`` runs, on the embedded defaults) consumes both."""

import contextlib
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from config.celery import app as celery_app
from tests.servers import ROOT, embedded_env

BIN = str(ROOT / ".venv/bin")


@pytest.fixture
def broker():
    """Tasks really sent to the tests' Redis broker (the test settings run them eagerly)."""
    celery_app.loader.import_default_modules()
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    try:
        yield
    finally:
        celery_app.control.purge()
        celery_app.conf.task_always_eager = True


def waiting(queue: str) -> int:
    with celery_app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue).message_count


def test_it_sends_mail_and_webhook_tasks_to_the_notifications_queue(broker):
    celery_app.tasks["notifications.tasks.event_dispatch"].delay(1)
    celery_app.tasks["notifications.tasks.webhook_deliver"].delay(1)
    assert (waiting("notifications"), waiting("celery")) == (2, 0)


def test_it_keeps_the_bill_chunks_on_the_default_queue(broker):
    celery_app.tasks["billing.tasks.bill_run_chunk"].delay(1)
    celery_app.tasks["billing.tasks.bill_runs_resume"].delay()
    assert (waiting("celery"), waiting("notifications")) == (2, 0)


def test_a_worker_started_without_queues_consumes_both():
    """``celery -A config worker`` with no ``-Q`` (the tests' workers, a quick manual start)
    must not leave the mail unsent."""
    assert set(celery_app.amqp.queues) == {"celery", "notifications"}


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            return command.strip()
    raise AssertionError(f"no {name!r} in the Procfile")


def test_the_procfile_worker_consumes_both_queues():
    argv = shlex.split(procfile_command("worker"))
    queues = argv[argv.index("-Q") + 1].split(",") if "-Q" in argv else list(celery_app.amqp.queues)
    assert {"celery", "notifications"} <= set(queues)


PUBLISH = """
from accounts.tests.factories import CustomerAccountFactory, UserFactory
from notifications.services import event_publish
account = CustomerAccountFactory(account_number="Q-0001")
account.users.add(UserFactory(email="payer@example.com"))
event = event_publish("payment_received", account=account, payload={"message": "Paid, thanks."})
print("EVENT", event.pk)
"""


@pytest.mark.slow
def test_the_procfile_worker_on_the_embedded_defaults_delivers_a_notification(tmp_path):
    """``make run``'s worker (the Procfile's line, kombu's file-system broker, SQLite)
    dispatches an event: the mail is sent (the console backend prints it) and the event row
    says to whom."""
    env = embedded_env(tmp_path)
    env["PATH"] = f"{BIN}:{env['PATH']}"
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        # As honcho runs a Procfile line (sh -c), in a session of its own so that the worker and
        # its pool's processes are stopped together.
        worker = subprocess.Popen(  # noqa: S603 (our own Procfile)
            ["/bin/sh", "-c", f"exec {procfile_command('worker')}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        published = subprocess.run(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "shell", "-c", PUBLISH],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        event_id = int(published.stdout.split("EVENT")[1].split()[0])
        deadline = time.monotonic() + 90
        row = None
        while time.monotonic() < deadline:
            with sqlite3.connect(tmp_path / "homegrid.sqlite3", timeout=30) as db:
                row = db.execute(
                    "SELECT dispatched_at, mailed_to FROM notifications_event WHERE id = ?",
                    [event_id],
                ).fetchone()
            if row[0] is not None:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()  # Celery's warm shutdown
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # a pool process left behind
    output = log.read_text(errors="replace")
    assert row is not None and row[0] is not None, output[-3000:]
    assert "payer@example.com" in json.loads(row[1])
    assert "Subject: HomeGrid: payment received" in output
    assert "Paid, thanks." in output
