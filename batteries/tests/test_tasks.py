import random
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from batteries import services, tasks
from batteries.models import BatteryAlert, BatteryInstruction, BatteryReading
from batteries.tests.factories import BatteryFactory, InstructionRuleFactory, reading
from config.exceptions import Conflict

pytestmark = pytest.mark.django_db


def test_it_schedules_monitoring_and_rules_every_minute():
    jobs = {job["task"]: job["schedule"] for job in settings.BATTERIES_BEAT_SCHEDULE.values()}

    assert jobs == {
        "batteries.tasks.monitoring_pass": 60.0,
        "batteries.tasks.instructions_pass": 60.0,
    }
    for name in jobs:
        assert callable(getattr(tasks, name.rsplit(".", 1)[1]))


def test_it_runs_the_monitoring_pass_as_a_task(settings):
    settings.BATTERIES_STALE_MINUTES = 10
    battery = BatteryFactory()
    at = (timezone.now() - timedelta(minutes=11)).isoformat()
    services.reading_record(battery=battery, data=reading(timestamp=at), source="api")
    BatteryAlert.objects.all().delete()

    outcome = tasks.monitoring_pass.delay().get()

    assert outcome == {"opened": 1, "resolved": 0}
    assert BatteryAlert.objects.get().rule == "offline"


def test_it_runs_the_rule_pass_as_a_task():
    battery = BatteryFactory()
    services.reading_record(battery=battery, data=reading(), source="api")
    InstructionRuleFactory(battery=battery, action="idle")

    outcome = tasks.instructions_pass.delay().get()

    assert outcome["issued"] == 1
    assert BatteryInstruction.objects.get().action == "idle"


@pytest.mark.django_db(transaction=True)
def test_it_stores_a_reading_once_when_the_same_batch_arrives_concurrently():
    batteries = [BatteryFactory(), BatteryFactory(postcode="E8 1AA")]
    now = timezone.now()
    times = [(now - timedelta(seconds=s)).isoformat() for s in range(0, 50, 5)]
    batch = [
        (battery, services.reading_values_parse(reading(timestamp=at)))
        for battery in batteries
        for at in times
    ]
    barrier = threading.Barrier(4)
    errors = []

    def ingest(seed):
        shuffled = random.Random(seed).sample(batch, len(batch))  # each thread in its own order
        try:
            barrier.wait(timeout=30)
            services.readings_ingest(readings=shuffled, source="mqtt", skip_conflicts=True)
        except Exception as exc:  # collected so the test can show it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert BatteryReading.objects.count() == 20
    for battery in batteries:
        battery.refresh_from_db()
        assert battery.last_seen == now


@pytest.mark.django_db(transaction=True)
def test_it_refuses_one_of_two_contradicting_readings_sent_at_once():
    battery = BatteryFactory()
    at = timezone.now().isoformat()
    barrier = threading.Barrier(2)
    outcomes = []

    def ingest(soc):
        values = services.reading_values_parse(reading(timestamp=at, soc_percent=soc))
        try:
            barrier.wait(timeout=30)
            result = services.readings_ingest(readings=[(battery, values)], source="api")
            outcomes.append(("stored", result.stored))
        except Conflict:
            outcomes.append(("conflict", 0))
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(soc,)) for soc in (40, 60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == [("conflict", 0), ("stored", 1)]
    assert BatteryReading.objects.filter(battery=battery).count() == 1
