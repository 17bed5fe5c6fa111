"""Events published together are dispatched ``DISPATCH_BATCH`` to a Celery task (a bill run
publishes one per bill), each event in its own transaction: one that fails is left for the
sweep, and the rest of its batch is still mailed."""

import pytest
from celery.signals import task_prerun
from django.core import mail

from accounts.tests.factories import CustomerAccountFactory
from notifications import services
from notifications.models import Event
from notifications.services import events as events_module
from notifications.services import mail as mail_module

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks_run():
    seen: list[tuple[str, tuple]] = []

    def record(sender=None, args=None, **_):
        seen.append((sender.name, tuple(args or ())))

    task_prerun.connect(record, weak=False)
    yield seen
    task_prerun.disconnect(record)


def test_events_published_together_go_to_the_worker_a_batch_a_task(
    tasks_run, django_capture_on_commit_callbacks
):
    accounts = CustomerAccountFactory.create_batch(3)
    count = 2 * events_module.DISPATCH_BATCH + 1
    with django_capture_on_commit_callbacks(execute=True):
        events = services.events_publish(
            kind="read_refused",
            items=[(accounts[n % 3].pk, {"message": f"refused {n}"}) for n in range(count)],
        )

    dispatches = [args for name, args in tasks_run if name.endswith("events_dispatch")]
    assert [len(ids) for (ids,) in dispatches] == [100, 100, 1]
    assert sorted(pk for (ids,) in dispatches for pk in ids) == sorted(e.pk for e in events)
    assert not [name for name, _ in tasks_run if name.endswith(".event_dispatch")]
    assert Event.objects.filter(dispatched_at__isnull=True).count() == 0
    assert len(mail.outbox) == count


def test_one_event_that_fails_leaves_the_rest_of_its_batch_mailed(monkeypatch):
    account = CustomerAccountFactory()
    events = services.events_publish(
        kind="read_refused", items=[(account.pk, {"message": f"r{n}"}) for n in range(3)]
    )
    broken = events[1].pk
    recipients = mail_module.recipients

    def failing(event):
        if event.pk == broken:
            raise RuntimeError("the mail composer broke")
        return recipients(event)

    monkeypatch.setattr(mail_module, "recipients", failing)

    outcome = services.events_dispatch(event_ids=[e.pk for e in events])

    assert outcome == {"events": 3, "dispatched": 2, "failed": 1}
    undispatched = Event.objects.filter(dispatched_at__isnull=True)
    assert list(undispatched.values_list("pk", flat=True)) == [broken]  # for the sweep
    assert sorted(m.body for m in mail.outbox) == ["r0", "r2"]
    # A batch sent twice (a redelivered task) mails nobody twice.
    monkeypatch.setattr(mail_module, "recipients", recipients)
    again = services.events_dispatch(event_ids=[e.pk for e in events])
    assert again == {"events": 3, "dispatched": 1, "failed": 0}
    assert sorted(m.body for m in mail.outbox) == ["r0", "r1", "r2"]
