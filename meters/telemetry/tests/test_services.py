import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from accounts.tests.factories import StaffFactory
from config.exceptions import ApplicationError, ServiceUnavailable
from meters import services as meter_services
from meters.models import MeterKind, Reading, ReadingDiagnostic
from meters.telemetry import services, supervision
from meters.telemetry.models import Alert, AlertKind, DeadLetter, Device, DeviceTransition
from meters.telemetry.services import Message
from meters.tests.factories import MeterFactory

from .factories import DeviceFactory, LiveMeterFactory

pytestmark = pytest.mark.django_db


def local(now, seconds_ago=0):
    """``now`` minus some seconds as Tasmota writes Time: local (Europe/London), no offset."""
    return (
        (now - timedelta(seconds=seconds_ago))
        .astimezone(timezone.get_default_timezone())
        .strftime("%Y-%m-%dT%H:%M:%S")
    )


def sensor(device, payload: str, received_at=None) -> Message:
    return Message(
        topic=f"tele/{device}/SENSOR",
        payload=payload.encode(),
        received_at=received_at or timezone.now(),
    )


def mt681(now, seconds_ago, total_in, power=79.9, total_out=266.8507):
    return (
        f'{{"Time":"{local(now, seconds_ago)}","MT681":{{"Total_in":{total_in},'
        f'"Power_cur":{power},"Total_out":{total_out}}}}}'
    )


def test_it_stores_a_sensor_message_as_a_reading_with_payload_time():
    device = DeviceFactory()
    now = timezone.now().replace(microsecond=0)
    report = services.messages_store(messages=[sensor(device, mt681(now, 8, 186.7106), now)])
    assert report.outcomes == ["stored"]
    reading = Reading.objects.get(meter=device.meter)
    assert reading.at == now - timedelta(seconds=8)
    assert reading.import_kwh == Decimal("186.7106")
    assert reading.export_kwh == Decimal("266.8507")
    assert reading.power_w == pytest.approx(79.9)
    assert reading.source == "mqtt"
    # The columns say everything a payload with its own Time says: no diagnostic (#16).
    assert not ReadingDiagnostic.objects.exists()
    device.refresh_from_db()
    assert device.last_sensor_at == now


def test_it_uses_the_receive_time_when_the_payload_time_is_implausible_and_says_so():
    device = DeviceFactory()
    now = timezone.now()
    payload = '{"Time":"1970-01-01T00:00:42","SML":{"E_in":12.5,"Power_curr":-400}}'
    services.messages_store(messages=[sensor(device, payload, now)])
    reading = Reading.objects.get(meter=device.meter)
    assert reading.at == now
    diagnostic = ReadingDiagnostic.objects.get(meter=device.meter, at=now)
    assert diagnostic.raw["time_source"] == "received"
    assert diagnostic.raw["device"] == device.topic and "1970-01-01" in diagnostic.raw["payload"]
    assert reading.power_w == -400


def test_it_reads_payload_time_in_the_device_timezone():
    device = DeviceFactory(timezone="Asia/Tokyo")
    now = timezone.now().replace(microsecond=0)
    tokyo = (now - timedelta(seconds=5)).astimezone(device.meter.tz.__class__("Asia/Tokyo"))
    payload = f'{{"Time":"{tokyo:%Y-%m-%dT%H:%M:%S}","SML":{{"E_in":1}}}}'
    services.messages_store(messages=[sensor(device, payload, now)])
    assert Reading.objects.get(meter=device.meter).at == now - timedelta(seconds=5)


def test_it_stores_a_replayed_message_once():
    device = DeviceFactory()
    now = timezone.now()
    message = sensor(device, mt681(now, 3, 100), now)
    services.messages_store(messages=[message])
    report = services.messages_store(messages=[message, message])
    assert report.outcomes == ["duplicate", "duplicate"]
    assert Reading.objects.filter(meter=device.meter).count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        '{"MT681":{"Total_in":12.5}}',
        '{"Time":"1970-01-01T00:00:00","MT681":{"Total_in":12.5}}',
        '{"Time":"0001-01-01T00:00:00+14:00","MT681":{"Total_in":12.5}}',
        '{"Time":"not a time","MT681":{"Total_in":12.5}}',
    ],
)
def test_it_stores_a_payload_without_plausible_time_once_whenever_it_is_redelivered(payload):
    device = DeviceFactory()
    now = timezone.now()
    first = services.messages_store(messages=[sensor(device, payload, now)])
    again = services.messages_store(
        messages=[
            sensor(device, payload, now + timedelta(seconds=30)),
            sensor(device, payload, now + timedelta(seconds=31)),
        ]
    )
    assert first.outcomes == ["stored"]
    assert again.outcomes == ["duplicate", "duplicate"]
    [reading] = Reading.objects.filter(meter=device.meter)
    [diagnostic] = ReadingDiagnostic.objects.filter(meter=device.meter)
    assert (reading.at, diagnostic.raw["time_source"]) == (now, "received")


def test_it_stores_a_timeless_battery_reading_once_whenever_it_is_redelivered():
    from batteries.models import BatteryReading
    from batteries.tests.factories import BatteryFactory, reading

    battery = BatteryFactory()
    payload = json.dumps({k: v for k, v in reading().items() if k != "timestamp"}).encode()
    topic = f"batteries/{battery.identifier}/telemetry"
    now = timezone.now()
    first = services.messages_store(messages=[Message(topic, payload, now)])
    again = services.messages_store(
        messages=[Message(topic, payload, now + timedelta(seconds=s)) for s in (20, 21)]
    )
    assert first.outcomes == ["stored"]
    assert again.outcomes == ["duplicate", "duplicate"]
    assert BatteryReading.objects.filter(battery=battery).count() == 1


def test_it_rejects_a_bad_message_without_blocking_the_rest_of_its_batch():
    good, other = DeviceFactory(), DeviceFactory()
    now = timezone.now()
    batch = [
        sensor(good, mt681(now, 9, 100), now),
        sensor(good, "not json", now),
        sensor(good, b"\xff\xfe".decode("latin-1"), now),
        sensor(good, '{"Time":"x","ESP32":{"Temperature":40}}', now),
        sensor(other, mt681(now, 9, 50), now),
    ]
    report = services.messages_store(messages=batch)
    assert report.outcomes == ["stored", "rejected", "rejected", "rejected", "stored"]
    assert report.codes == {"not_json": 2, "no_register": 1}
    assert Reading.objects.count() == 2
    assert sorted(DeadLetter.objects.values_list("code", flat=True)) == [
        "no_register",
        "not_json",
        "not_json",
    ]
    letter = DeadLetter.objects.filter(code="no_register").get()
    assert letter.device == good
    assert "ESP32" in letter.payload_text


def test_it_keeps_payloads_with_nul_characters_as_dead_letters_with_their_code():
    device = DeviceFactory()
    now = timezone.now()
    with_nul = f'{{"Time":"{local(now, 1)}\\u0000","MT681":{{"Total_in":1,"Meter_id":"\\u0000"}}}}'
    report = services.messages_store(
        messages=[sensor(device, "\x00\x00", now), sensor(device, with_nul, now)]
    )
    assert report.outcomes == ["rejected", "rejected"]
    letters = {letter.code: bytes(letter.payload) for letter in DeadLetter.objects.all()}
    assert letters == {"not_json": b"\x00\x00", "nul_character": with_nul.encode()}


@override_settings(TELEMETRY_DEAD_LETTERS=False)
def test_it_keeps_no_dead_letters_when_switched_off():
    device = DeviceFactory()
    report = services.messages_store(messages=[sensor(device, "{")])
    assert report.outcomes == ["rejected"]
    assert not DeadLetter.objects.exists()


def test_it_dead_letters_a_conflicting_value_for_a_stored_time():
    device = DeviceFactory()
    now = timezone.now()
    services.messages_store(messages=[sensor(device, mt681(now, 5, 100), now)])
    report = services.messages_store(messages=[sensor(device, mt681(now, 5, 101), now)])
    assert report.outcomes == ["rejected"]
    assert DeadLetter.objects.get().code == "conflict"
    assert Reading.objects.get().import_kwh == Decimal(100)


def test_it_does_not_store_boot_zeros():
    device = DeviceFactory()
    now = timezone.now()
    zeros = f'{{"Time":"{local(now, 2)}","MT681":{{"Total_in":0,"Power_cur":0,"Total_out":0}}}}'
    report = services.messages_store(
        messages=[sensor(device, mt681(now, 30, 100), now), sensor(device, zeros, now)]
    )
    assert report.outcomes == ["stored", "ignored"]
    assert report.codes == {"boot_zero": 1}
    assert Reading.objects.count() == 1


def test_it_flags_a_register_that_goes_down_as_a_meter_reset():
    device = DeviceFactory()
    now = timezone.now()
    services.messages_store(messages=[sensor(device, mt681(now, 30, 500), now)])
    report = services.messages_store(
        messages=[
            sensor(device, mt681(now, 20, 3, total_out=1), now),
            sensor(device, mt681(now, 10, 4, total_out=1), now),
        ]
    )
    assert report.outcomes == ["stored", "stored"]
    readings = list(Reading.objects.order_by("at").values_list("import_kwh", "register_reset"))
    assert readings == [(Decimal(500), False), (Decimal(3), True), (Decimal(4), False)]


def test_it_flags_a_reset_against_the_reading_before_a_late_message():
    device = DeviceFactory()
    now = timezone.now()
    services.messages_store(
        messages=[
            sensor(device, mt681(now, 40, 500), now),
            sensor(device, mt681(now, 10, 2), now),
        ]
    )
    # Arrives late: between the two, lower than the one before it.
    report = services.messages_store(messages=[sensor(device, mt681(now, 25, 1), now)])
    assert report.outcomes == ["stored"]
    assert Reading.objects.get(import_kwh=1).register_reset is True


def test_it_records_an_unknown_device_as_unassigned_and_keeps_its_message():
    now = timezone.now()
    report = services.messages_store(messages=[sensor("newcomer", mt681(now, 1, 5), now)])
    assert report.outcomes == ["rejected"]
    device = Device.objects.get(topic="newcomer")
    assert device.meter is None
    assert device.last_sensor_at == now
    assert DeadLetter.objects.get().code == "unassigned_device"
    assert not Reading.objects.exists()


@override_settings(TELEMETRY_UNKNOWN_DEVICE="ignore")
def test_it_ignores_an_unknown_device_when_told_to():
    report = services.messages_store(messages=[sensor("stranger", mt681(timezone.now(), 1, 5))])
    assert report.outcomes == ["ignored"]
    assert not Device.objects.exists()
    assert not DeadLetter.objects.exists()


def test_it_attaches_a_new_device_to_the_live_meter_its_payload_names():
    meter = LiveMeterFactory(meter_id="1EBZ0100507409")
    now = timezone.now()
    payload = f'{{"Time":"{local(now, 1)}","MT681":{{"Total_in":7,"Meter_id":"1EBZ0100507409"}}}}'
    report = services.messages_store(messages=[sensor("house9", payload, now)])
    assert report.outcomes == ["stored"]
    assert Device.objects.get(topic="house9").meter == meter
    assert Reading.objects.get().meter == meter


def test_it_attaches_a_device_first_seen_by_its_lwt_once_a_sensor_names_the_meter():
    meter = LiveMeterFactory(meter_id="0901454")
    now = timezone.now()
    services.messages_store(
        messages=[Message(topic="tele/house7/LWT", payload=b"Online", received_at=now)]
    )
    assert Device.objects.get(topic="house7").meter is None
    payload = f'{{"Time":"{local(now, 1)}","SML":{{"E_in":7,"Meter_number":"0901454"}}}}'
    report = services.messages_store(messages=[sensor("house7", payload, now)])
    assert report.outcomes == ["stored"]
    assert Device.objects.get(topic="house7").meter == meter


def test_it_records_lwt_transitions_once_per_change():
    device = DeviceFactory()
    now = timezone.now()

    def lwt(text, seconds):
        return Message(
            topic=f"tele/{device}/LWT", payload=text, received_at=now + timedelta(seconds=seconds)
        )

    report = services.messages_store(
        messages=[lwt(b"Online", 0), lwt(b"Online", 1), lwt(b"Offline", 2), lwt(b"Bogus", 3)]
    )
    assert report.outcomes == ["stored", "stored", "stored", "rejected"]
    device.refresh_from_db()
    assert device.online is False
    assert device.online_changed_at == now + timedelta(seconds=2)
    assert list(DeviceTransition.objects.order_by("at").values_list("online", flat=True)) == [
        True,
        False,
    ]


def test_it_holds_everything_while_reception_is_paused():
    device = DeviceFactory()
    meter_services.reception_set(user=None, paused=True, reason="maintenance window")
    with pytest.raises(ServiceUnavailable):
        services.messages_store(messages=[sensor(device, mt681(timezone.now(), 1, 5))])
    assert not Reading.objects.exists()
    meter_services.reception_set(user=None, paused=False)
    report = services.messages_store(messages=[sensor(device, mt681(timezone.now(), 1, 5))])
    assert report.outcomes == ["stored"]


def test_it_takes_a_state_message_as_a_sign_of_life():
    device = DeviceFactory()
    at = timezone.now()
    report = services.messages_store(
        messages=[
            Message(
                topic=f"tele/{device}/STATE", payload=b'{"Uptime":"0T01:00:00"}', received_at=at
            )
        ]
    )
    assert report.outcomes == ["stored"]
    device.refresh_from_db()
    assert device.last_seen == at
    assert device.last_sensor_at is None


def test_it_ignores_topics_it_does_not_handle():
    report = services.messages_store(
        messages=[Message(topic="stat/x/POWER", payload=b"ON", received_at=timezone.now())]
    )
    assert report.outcomes == ["ignored"]


def test_it_routes_battery_telemetry_to_the_batteries_app_in_the_same_batch():
    from batteries.models import BatteryReading
    from batteries.tests.factories import BatteryFactory, reading

    battery = BatteryFactory()
    device = DeviceFactory()
    now = timezone.now()
    report = services.messages_store(
        messages=[
            Message(
                topic=f"batteries/{battery.identifier}/telemetry",
                payload=json.dumps(reading(soc_percent=64.5)).encode(),
                received_at=now,
            ),
            sensor(device, mt681(now, 2, 10), now),
            Message(
                topic=f"batteries/{battery.identifier}/telemetry", payload=b"{", received_at=now
            ),
            Message(
                topic=f"batteries/{battery.identifier}/cmd/ack",
                payload=b'{"instruction_id": "not-a-uuid", "result": "accepted"}',
                received_at=now,
            ),
        ]
    )
    assert report.outcomes == ["stored", "stored", "rejected", "rejected"]
    assert BatteryReading.objects.get(battery=battery).soc_percent == Decimal("64.5")
    assert sorted(DeadLetter.objects.values_list("code", flat=True)) == [
        "bad_battery_ack",
        "not_json",
    ]


def test_it_dead_letters_a_battery_message_for_an_unknown_battery():
    message = Message(
        topic="batteries/NOPE-1/telemetry",
        payload=b'{"soc_percent": 5}',
        received_at=timezone.now(),
    )
    report = services.messages_store(messages=[message])
    assert report.outcomes == ["rejected"]
    assert DeadLetter.objects.get().code == "unknown_battery"


def test_it_refuses_to_attach_a_device_to_an_interval_meter_or_a_taken_meter():
    device = DeviceFactory(meter=None)
    with pytest.raises(ApplicationError):
        services.device_attach(device=device, meter=MeterFactory(kind=MeterKind.INTERVAL))
    taken = DeviceFactory()
    with pytest.raises(ApplicationError):
        services.device_attach(device=device, meter=taken.meter)
    free = LiveMeterFactory()
    assert services.device_attach(device=device, meter=free).meter == free


def test_it_dead_letters_only_the_poison_message_when_a_batch_is_isolated():
    device = DeviceFactory()
    now = timezone.now()
    report = services.messages_store_isolating(
        messages=[sensor(device, mt681(now, 5, 1), now), sensor(device, "{", now)]
    )
    assert report.outcomes == ["stored", "rejected"]


# --- Supervision ------------------------------------------------------------------------------


def beat(client_id="ingest-a", seconds_ago=0, **extra):
    supervision.heartbeat_write(
        client_id=client_id,
        beat={"connected": True, "last_minute": {"received": 10, "rejected": 0}} | extra,
    )
    if seconds_ago:
        from django.core.cache import cache

        key = supervision.HEARTBEAT_KEY.format(client_id=client_id)
        stored = cache.get(key)
        stored["written_at"] = (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()
        cache.set(key, stored)


def test_it_marks_the_ingest_down_when_no_process_ever_reported():
    state = services.supervision_run()
    assert state["status"] == "down"
    assert Alert.objects.get(resolved_at__isnull=True).kind == AlertKind.INGEST_DOWN


def test_it_marks_a_stopped_ingest_down_alerts_staff_and_resolves_when_it_returns(
    django_capture_on_commit_callbacks,
):
    StaffFactory(email="ops@example.com")
    beat(seconds_ago=120)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.supervision_run()["status"] == "down"
        assert services.supervision_run()["status"] == "down"
    assert [m.subject for m in mail.outbox] == ["[HomeGrid] Ingest down"]
    assert mail.outbox[0].to == ["ops@example.com"]
    alert = Alert.objects.get(kind=AlertKind.INGEST_DOWN)
    assert alert.resolved_at is None
    beat()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.supervision_run()["status"] == "healthy"
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert mail.outbox[-1].subject == "[HomeGrid] Resolved: Ingest down"


def test_it_marks_the_ingest_degraded_when_it_rejects_much():
    beat(last_minute={"received": 10, "rejected": 5})
    state = services.supervision_run()
    assert state["status"] == "degraded"
    assert Alert.objects.get(resolved_at__isnull=True).kind == AlertKind.INGEST_DEGRADED


def test_it_marks_the_ingest_degraded_when_one_of_two_processes_stopped():
    beat("ingest-a")
    beat("ingest-b", seconds_ago=300)
    state = services.supervision_run()
    assert state["status"] == "degraded"
    assert "ingest ingest-b stopped reporting" in state["reasons"]


def test_it_does_not_miss_a_process_stopped_on_purpose_while_another_runs():
    beat("ingest-a")
    beat("ingest-b", seconds_ago=300, connected=False, stopped=True)
    assert services.supervision_run()["status"] == "healthy"


def test_it_marks_the_ingest_down_and_says_so_when_every_process_was_stopped():
    beat("ingest-a", connected=False, stopped=True)
    state = services.supervision_run()
    assert state["status"] == "down"
    assert state["reasons"] == ["ingest stopped (ingest-a)"]


def test_it_alerts_on_a_silent_device_and_resolves_when_it_reports_again():
    beat()
    device = DeviceFactory(tele_period_seconds=10)
    Device.objects.filter(pk=device.pk).update(
        last_sensor_at=timezone.now() - timedelta(seconds=31)
    )
    state = services.supervision_run()
    assert state["status"] == "degraded"
    assert state["devices_silent"] == [device.topic]
    assert Alert.objects.get(resolved_at__isnull=True).device == device
    Device.objects.filter(pk=device.pk).update(last_sensor_at=timezone.now())
    assert services.supervision_run()["status"] == "healthy"
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()


def test_it_does_not_call_a_device_silent_within_three_teleperiods():
    beat()
    device = DeviceFactory(tele_period_seconds=300)
    Device.objects.filter(pk=device.pk).update(
        last_sensor_at=timezone.now() - timedelta(seconds=600)
    )
    assert services.supervision_run()["devices_silent"] == []


def test_it_alerts_on_an_offline_device_once():
    beat()
    device = DeviceFactory(online=False)
    services.supervision_run()
    services.supervision_run()
    assert Alert.objects.filter(kind=AlertKind.DEVICE_OFFLINE, device=device).count() == 1
