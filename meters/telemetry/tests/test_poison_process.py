"""No message can stop the ingest (issue 14): a real ``ingest_mqtt`` process on the real Mosquitto.

Poison payloads and topics are interleaved with good readings from other devices; every good
reading must be stored, the process must stay alive, each poison must become a dead letter with
its code, and nothing may be left unacknowledged. Then the promise of ``inflight``: a message in
progress when the process died is stored alone on redelivery, and one in progress at
TELEMETRY_CRASH_LIMIT deaths is dead-lettered ``crashed_before`` while its batch-mates are stored.

Not sent, because MQTT forbids them and they never reach an ingest (MQTT 5 §1.5.4): a topic with
invalid UTF-8 (paho cannot encode it) or a NUL character (Mosquitto disconnects the publisher).
"""

import json
import signal
import uuid
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from batteries.models import BatteryReading
from batteries.tests.factories import BatteryFactory
from batteries.tests.factories import reading as battery_reading
from meters.models import Reading, ReadingDiagnostic
from meters.telemetry import inflight, services, supervision
from meters.telemetry.models import DeadLetter

from .conftest import publish_all, wait_until
from .factories import DeviceFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def client_id() -> str:
    return f"test-poison-{uuid.uuid4().hex[:8]}"


def tasmota_time(at) -> str:
    return at.astimezone(timezone.get_default_timezone()).strftime("%Y-%m-%dT%H:%M:%S")


def good_payload(seconds_ago: int, total_in: float) -> str:
    at = tasmota_time(timezone.now() - timedelta(seconds=seconds_ago))
    return f'{{"Time":"{at}","MT681":{{"Total_in":{total_in:.4f},"Power_cur":120}}}}'


def totals(ident: str) -> dict:
    return (cache.get(supervision.HEARTBEAT_KEY.format(client_id=ident)) or {}).get("totals", {})


def sensor_poisons(now) -> list[tuple[str, bytes, str]]:
    """(label, payload, expected code) for the SENSOR topic of a device with a meter."""
    at = tasmota_time(now - timedelta(seconds=20))
    deep = "[" * 10_000 + "]" * 10_000
    return [
        ("1e400", f'{{"Time":"{at}","MT681":{{"Total_in":1e400}}}}', "out_of_range"),
        (
            "1e25 with 29 significant digits",
            f'{{"Time":"{at}","MT681":{{"Total_in":1.2345678901234567890123456789e25}}}}',
            "out_of_range",
        ),
        (
            "a megabyte of digits",
            f'{{"Time":"{at}","MT681":{{"Total_in":{"9" * 1_000_000}}}}}',
            "number_too_long",
        ),
        ("JSON nested 10,000 deep", f'{{"Time":"{at}","MT681":{deep}}}', "too_deep"),
        ("invalid UTF-8", b'{"MT681":{"Total_in":1\xff\xfe}}', "not_json"),
        ("raw NUL bytes", b'{"MT681":{"Total_in":1}}\x00\x00', "not_json"),
        (
            "an escaped NUL",
            f'{{"Time":"{at}","MT681":{{"Total_in":1,"Meter_id":"a\\u0000"}}}}',
            "nul_character",
        ),
        ("NaN", '{"MT681":{"Total_in":NaN}}', "not_finite"),
        ("Infinity", '{"MT681":{"Total_in":-Infinity}}', "not_finite"),
        ("an empty payload", b"", "not_json"),
        ("a register that is an object", '{"MT681":{"E_in":{}}}', "no_register"),
        ("a register that is a list", f'{{"Time":"{at}","MT681":{{"E_in":[1,2]}}}}', "no_register"),
        ("a group that is a list", f'{{"Time":"{at}","MT681":[{{"E_in":1}}]}}', "no_register"),
        ("a JSON list", "[1, 2, 3]", "not_json"),
        ("a JSON string", '"Total_in"', "not_json"),
        ("a negative register", f'{{"Time":"{at}","MT681":{{"E_in":-5}}}}', "negative_register"),
        ("a power beyond 1 GW", '{"MT681":{"E_in":5,"Power":1e30}}', "out_of_range"),
    ]


def test_no_poison_message_stops_the_ingest_and_each_is_dead_lettered_by_its_code(
    broker, topics, ingests
):
    now = timezone.now()
    poisons = sensor_poisons(now)
    good = [DeviceFactory() for _ in range(20)]
    poisoned = [DeviceFactory() for _ in poisons]
    battery = BatteryFactory()
    long_name = "d" * 300
    messages: list[tuple[str, bytes | str]] = []
    expected: list[tuple[str, str]] = []  # (label, code) per poison

    def poison(label, topic, payload, code):
        messages.append((topic, payload))
        expected.append((label, code))

    for device, (label, payload, code) in zip(poisoned, poisons, strict=True):
        poison(label, topics.sensor(device.topic), payload, code)
    meterless = good_payload(15, 42)
    poison("a topic with no meter", topics.sensor("no-meter-here"), meterless, "unassigned_device")
    poison(
        "a megabyte of digits on a topic with no meter",
        topics.sensor("no-meter-either"),
        f'{{"MT681":{{"Total_in":{"9" * 1_000_000}}}}}',
        "number_too_long",
    )
    poison("a 300-character device name", topics.sensor(long_name), meterless, "device_too_long")
    poison("an empty device name", f"{topics.tele}//SENSOR", meterless, "empty_device")
    poison("only slashes", f"{topics.tele}///SENSOR", meterless, "empty_device")
    poison(
        "a lowercase sensor",
        f"{topics.tele}/{good[0].topic}/sensor",
        good_payload(25, 1),
        "unknown_topic_kind",
    )
    poison("a garbled LWT", topics.lwt(good[1].topic), b"\xff" * 50, "bad_lwt")
    battery_topic = f"{topics.batteries}/{battery.identifier}/telemetry"
    poison(
        "battery: 1e400",
        battery_topic,
        json.dumps(battery_reading()).replace('"soc_percent": 55', '"soc_percent": 1e400'),
        "bad_battery_payload",
    )
    poison(
        "battery: nested 10,000 deep",
        battery_topic,
        "[" * 10_000 + "]" * 10_000,
        "too_deep",
    )
    poison("battery: NaN", battery_topic, '{"soc_percent": NaN}', "not_finite")
    poison("battery: invalid UTF-8", battery_topic, b"\xc3\x28", "not_json")
    poison(
        "battery: wrong types",
        battery_topic,
        json.dumps(battery_reading(soc_percent={}, status=["idle"], timestamp=[1])),
        "bad_battery_payload",
    )
    poison(
        "battery: a year-1 timestamp",
        battery_topic,
        json.dumps(battery_reading(timestamp="0001-01-01T00:00:00+14:00")),
        "bad_battery_payload",
    )
    poison(
        "battery: unknown",
        f"{topics.batteries}/no-such-battery/telemetry",
        json.dumps(battery_reading()),
        "unknown_battery",
    )
    poison("battery: empty identifier", f"{topics.batteries}//telemetry", "{}", "empty_device")
    poison(
        "battery ack: not an object",
        f"{topics.batteries}/{battery.identifier}/cmd/ack",
        "[" * 10_000 + "]" * 10_000,
        "too_deep",
    )
    # Good readings interleaved: one before each poison, from devices the poisons do not touch.
    goods = [(topics.sensor(d.topic), good_payload(30, 100 + i)) for i, d in enumerate(good)]
    goods.append((battery_topic, json.dumps(battery_reading())))
    stream = []
    for i in range(max(len(goods), len(messages))):
        stream += goods[i : i + 1] + messages[i : i + 1]

    ident = client_id()
    process = ingests.start(broker, ident)
    publish_all(broker, stream)

    wait_until(lambda: Reading.objects.count() >= len(good), 90, f"{len(good)} good readings")
    wait_until(
        lambda: DeadLetter.objects.count() >= len(expected),
        90,
        f"{len(expected)} dead letters",
    )
    wait_until(lambda: totals(ident).get("received") == len(stream), 30, "every message counted")
    assert process.poll() is None, ingests.log(ident)

    assert set(Reading.objects.values_list("meter_id", flat=True)) == {d.meter_id for d in good}
    assert Reading.objects.count() == len(good)
    assert BatteryReading.objects.filter(battery=battery).count() == 1
    assert Counter(DeadLetter.objects.values_list("code", flat=True)) == Counter(
        code for _, code in expected
    ), expected
    assert DeadLetter.objects.filter(code="error").count() == 0
    by_topic = dict(DeadLetter.objects.values_list("topic", "code"))
    for device, (label, _, code) in zip(poisoned, poisons, strict=True):
        assert by_topic[topics.sensor(device.topic)] == code, label
    megabyte = DeadLetter.objects.get(topic=topics.sensor("no-meter-either"))
    assert len(megabyte.payload) > 1_000_000  # kept whole, so it can be looked at and retried

    # Nothing left unacknowledged: the same session, resumed by a new process, gets only what
    # is published after it (a sentinel), not one redelivery.
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    letters, readings = DeadLetter.objects.count(), Reading.objects.count()
    second = ingests.start(broker, ident)
    publish_all(broker, [(topics.sensor(good[0].topic), good_payload(5, 500))])
    wait_until(lambda: Reading.objects.count() == readings + 1, 60, "the sentinel reading")
    wait_until(lambda: totals(ident).get("received") == 1, 30, "the sentinel counted")
    assert second.poll() is None
    assert DeadLetter.objects.count() == letters
    assert totals(ident) == {
        "received": 1,
        "stored": 1,
        "duplicates": 0,
        "rejected": 0,
        "ignored": 0,
    }


# --- A message that kills the process anyway ---------------------------------------------------


class TableLock:
    """An ACCESS EXCLUSIVE lock on the readings table, held from another connection: the
    ingest's batch blocks inside its write, with its in-progress marks set, until released (a
    long migration or a stuck statement does the same in production)."""

    def __init__(self):
        db = connection.settings_dict
        self.conn = psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname=db["NAME"],
        )

    def __enter__(self):
        self.conn.execute(f"LOCK TABLE {Reading._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc):
        self.conn.rollback()
        self.conn.close()


# The four messages of a test are one batch, however slowly the broker hands them over.
ONE_BATCH_OF_FOUR = ("--batch-size", "4", "--flush-ms", "60000")


def marks_of(messages) -> dict[str, int]:
    digests = [services.message_digest(m) for m in messages]
    return inflight.counts(digests)


def test_a_message_in_progress_at_each_death_is_dead_lettered_and_its_batch_mates_stored(
    broker, topics, ingests
):
    """inflight's promise, with real deaths (SIGKILL while the batch is in its write): after one
    death every redelivered message is a suspect, stored alone; the suspect in progress at the
    second death (TELEMETRY_CRASH_LIMIT = 2) is dead-lettered ``crashed_before`` unread and the
    rest stored, each exactly once — including one without a plausible Time."""
    devices = [DeviceFactory() for _ in range(4)]
    payloads = [good_payload(40, 10 + i) for i in range(3)]
    payloads.append('{"Time":"1970-01-01T00:00:00","MT681":{"Total_in":77}}')  # no plausible Time
    published = [(topics.sensor(d.topic), p) for d, p in zip(devices, payloads, strict=True)]
    messages = [
        services.Message(topic=t, payload=p.encode(), received_at=timezone.now())
        for t, p in published
    ]
    ident = client_id()

    with TableLock():
        first = ingests.start(broker, ident, *ONE_BATCH_OF_FOUR)
        publish_all(broker, published)
        wait_until(lambda: set(marks_of(messages).values()) == {1}, 60, "the batch in progress")
        first.send_signal(signal.SIGKILL)
        first.wait()

        second = ingests.start(broker, ident, wait=False)
        wait_until(
            lambda: sorted(marks_of(messages).values()) == [1, 1, 1, 2],
            60,
            "the first suspect in progress, alone",
        )
        second.send_signal(signal.SIGKILL)
        second.wait()
    counts = marks_of(messages)
    [culprit] = [m for m in messages if counts[services.message_digest(m)] == 2]

    third = ingests.start(broker, ident)
    wait_until(lambda: Reading.objects.count() == 3, 60, "the three batch-mates")
    wait_until(lambda: DeadLetter.objects.exists(), 30, "the dead letter")
    assert third.poll() is None
    letter = DeadLetter.objects.get()
    assert (letter.code, letter.topic, bytes(letter.payload)) == (
        "crashed_before",
        culprit.topic,
        culprit.payload,
    )
    stored = set(Reading.objects.values_list("meter__telemetry_device__topic", flat=True))
    assert stored == {d.topic for d in devices} - {culprit.topic.split("/")[-2]}
    assert set(marks_of(messages).values()) == {0}
    wait_until(lambda: totals(ident).get("received") == 4, 30, "the redeliveries counted")
    assert totals(ident)["stored"] == 3 and totals(ident)["rejected"] == 1


def test_a_payload_without_plausible_time_is_stored_once_across_publishes_and_a_kill(
    broker, topics, ingests
):
    """Exactly-once whatever the Time: the same bytes published twice, and the batch
    redelivered after a SIGKILL before its acknowledgement (its write held by a table lock),
    give one reading."""
    device = DeviceFactory()
    timeless = '{"Time":"0001-01-01T00:00:00+14:00","MT681":{"Total_in":5.5}}'
    no_time = '{"MT681":{"Total_in":6.5}}'
    published = [(topics.sensor(device.topic), p) for p in (timeless, timeless, no_time, no_time)]
    messages = [
        services.Message(topic=t, payload=p.encode(), received_at=timezone.now())
        for t, p in published
    ]
    ident = client_id()
    with TableLock():
        first = ingests.start(broker, ident, *ONE_BATCH_OF_FOUR)
        publish_all(broker, published)
        wait_until(lambda: all(marks_of(messages).values()), 60, "the batch in progress")
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = ingests.start(broker, ident)
    wait_until(lambda: totals(ident).get("received") == 4, 60, "the redelivered batch")
    assert second.poll() is None
    readings = Reading.objects.filter(meter=device.meter)
    assert sorted(readings.values_list("import_kwh", flat=True)) == [5.5, 6.5]
    diagnostics = ReadingDiagnostic.objects.filter(meter=device.meter)
    assert sorted(d.raw["time_source"] for d in diagnostics) == ["received", "received"]
    assert totals(ident)["stored"] == 2 and totals(ident)["duplicates"] == 2
    # Published again later (a device that repeats itself): still one reading each.
    publish_all(broker, published[:1])
    wait_until(lambda: totals(ident).get("received") == 5, 60, "the repeat")
    assert readings.count() == 2
    assert not DeadLetter.objects.exists()
