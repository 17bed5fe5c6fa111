"""The demo's simulated battery (#20): it obeys the instructions the platform sends it, answers
each, falls back to its own control when they expire, and now and then runs warm enough for an
alert. End to end through the real Mosquitto and a real ``ingest_mqtt``."""

import json
import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings

from accounts.tests.factories import StaffFactory
from batteries import services as battery_services
from batteries.models import AlertRule, Battery, BatteryAlert, BatteryInstruction
from batteries.models import InstructionStatus as Status
from batteries.tests.factories import BatteryFactory
from meters.telemetry.tests.conftest import Broker, Ingests, Topics, wait_until
from portal.demo.battery import WARM_C, SimulatedBattery
from tests.servers import ROOT

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def command(action="charge", *, power_kw=2.0, expires_in=timedelta(minutes=5), id_=None):
    return json.dumps(
        {
            "instruction_id": id_ or str(uuid.uuid4()),
            "action": action,
            "power_kw": power_kw,
            "reserve_soc": None,
            "issued_at": NOW.isoformat(),
            "expires_at": (NOW + expires_in).isoformat(),
        }
    ).encode()


def unit(**kwargs) -> SimulatedBattery:
    return SimulatedBattery(
        identifier="N1-0001-9.5", capacity_kwh=9.5, rng=random.Random(1), **kwargs
    )


def test_it_charges_as_told_until_the_instruction_expires_then_follows_its_own_control():
    battery = unit(soc_percent=50)
    ack = battery.command(command(power_kw=2.0), NOW)
    assert ack["result"] == "accepted"

    told = battery.step(NOW + timedelta(minutes=1), 10, local_hour=20.0)
    assert told["power_kw"] == -2.0 and told["status"] == "charging"
    # 20:00 is the evening peak: on its own the unit discharges into the house.
    after = battery.step(NOW + timedelta(minutes=6), 10, local_hour=20.0)
    assert after["power_kw"] > 0 and after["status"] == "discharging"


def test_a_refresh_moves_the_expiry_of_the_same_instruction():
    battery = unit()
    battery.command(command(id_="a", expires_in=timedelta(minutes=5)), NOW)
    battery.command(command(id_="a", expires_in=timedelta(minutes=30)), NOW)

    assert battery.step(NOW + timedelta(minutes=20), 10, local_hour=20.0)["power_kw"] == -2.0


def test_it_refuses_what_it_cannot_do_and_says_why():
    battery = unit()

    unknown = battery.command(command("explode"), NOW)
    late = battery.command(command(expires_in=timedelta(minutes=-1)), NOW)
    too_strong = battery.command(command(power_kw=50), NOW)

    assert [a["result"] for a in (unknown, late, too_strong)] == ["rejected"] * 3
    assert "explode" in unknown["reason"] and "expired" in late["reason"]
    assert "power_kw" in too_strong["reason"]


def test_it_never_discharges_below_its_reserve_nor_charges_past_full():
    low, full = unit(soc_percent=10, reserve_soc=10), unit(soc_percent=100)
    low.command(command("discharge"), NOW)
    full.command(command("charge"), NOW)

    assert low.step(NOW, 10, local_hour=20.0)["power_kw"] == 0
    assert full.step(NOW, 10, local_hour=20.0)["power_kw"] == 0


@pytest.mark.django_db
def test_its_warm_spell_raises_a_temperature_alert():
    battery = BatteryFactory(model="Demo Cell 9.5")
    simulated = unit()
    simulated.identifier = battery.identifier
    simulated.command(command(power_kw=2.0, expires_in=timedelta(hours=3)), NOW)
    at = NOW
    for _ in range(5000):  # a spell comes about once in 360 steps
        at += timedelta(seconds=10)
        payload = simulated.step(at, 10, local_hour=12.0)
        if payload["temperature_c"] > WARM_C - 2:
            break
    assert payload["flag"] == "warning", "a warm spell within 5,000 steps of a seeded unit"

    # Stored as of now (the spell was found on the simulator's own clock).
    payload["timestamp"] = datetime.now(UTC).isoformat()
    values = battery_services.reading_values_parse(payload, default_at=at)
    battery_services.readings_ingest(readings=[(battery, values)], source="mqtt")

    alert = BatteryAlert.objects.get(battery=battery)
    assert alert.rule == AlertRule.TEMPERATURE_WARNING


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_obeys_and_acknowledges_an_instruction_over_the_real_broker(tmp_path, settings):
    url = urlparse(django_settings.MQTT_URL)
    broker = Broker(url.hostname or "127.0.0.1", url.port or 1883)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    topics = Topics(tele=f"{prefix}/tele", batteries=f"{prefix}/batteries")
    settings.BATTERIES_MQTT_TOPIC_ROOT = topics.batteries  # where this process publishes commands
    battery = BatteryFactory(model="Demo Cell 9.5", capacity_kwh=9.5)
    ingests = Ingests(tmp_path, topics)
    log = open(tmp_path / "simulator.log", "w")  # noqa: SIM115 - closed below
    simulator = None
    try:
        ingests.start(broker, f"ingest-{prefix}")
        simulator = subprocess.Popen(
            [
                *(sys.executable, "manage.py", "simulate_devices", "--only", "batteries"),
                *("--battery", battery.identifier, "--period", "1", "--seed", "3"),
            ],
            cwd=ROOT,
            env=ingests.env(broker) | {"PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(
            lambda: battery.readings.count() >= 2 or simulator.poll() is not None,
            60,
            "the simulator's telemetry to be stored",
        )
        assert simulator.poll() is None, (tmp_path / "simulator.log").read_text()

        instruction = battery_services.instruction_issue_manual(
            battery=battery,
            action="charge",
            power_kw="2.5",
            requested_by=StaffFactory(),
            expires_in_minutes=10,
        )

        def answered():
            row = BatteryInstruction.objects.get(pk=instruction.pk)
            return row if row.status not in (Status.PENDING, Status.SENT) else None

        assert wait_until(answered, 30, "the acknowledgement").status == Status.ACKNOWLEDGED

        def charging():
            row = Battery.objects.get(pk=battery.pk)
            return row if row.power_kw is not None and float(row.power_kw) == -2.5 else None

        obeyed = wait_until(charging, 30, "telemetry of the battery charging at 2.5 kW")
        assert obeyed.status == "charging"
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(15)
        ingests.stop_all()
        log.close()
