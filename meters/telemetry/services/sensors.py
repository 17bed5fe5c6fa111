"""SENSOR messages: from bytes to readings (two guarded steps), the devices they come from
(attached by meter number when new), and the readings' batch write through the meters' ingest."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from config.database import array_cursor
from meters import services as meter_services
from meters.models import Meter, MeterKind, ReadingSource

from .. import payloads, topics
from ..models import DeadLetter, Device
from .messages import (
    DUPLICATE,
    IGNORED,
    STORED,
    BatchReport,
    Message,
    Refused,
    _dead_letter,
    _digests_record,
    _printable,
    _reject,
    guarded,
    message_digest,
)

log = logging.getLogger("meters.telemetry.services")


@dataclass(slots=True)
class DeviceState:
    """What a batch uses of a device and of its meter, and the last-seen state it writes back.
    A batch loads hundreds: model instances for them (and for their meters) were a large part
    of its time (#16), so it reads rows."""

    pk: int
    topic: str
    meter_pk: int | None
    meter_number: str | None  # the meter's Meter.meter_id
    meter_timezone: str | None
    mapping_overrides: dict
    timezone: str
    last_seen: datetime | None
    last_sensor_at: datetime | None
    last_meter_number: str
    last_payload: str = ""

    @property
    def tz(self) -> ZoneInfo:
        """The zone of the payload's Time: the device's, else its meter's, else TIME_ZONE."""
        return ZoneInfo(self.timezone or self.meter_timezone or settings.TIME_ZONE)

    def __str__(self) -> str:
        return self.topic


_DEVICE_COLUMNS = (
    "pk",
    "topic",
    "meter_id",
    "meter__meter_id",
    "meter__timezone",
    "mapping_overrides",
    "timezone",
    "last_seen",
    "last_sensor_at",
    "last_meter_number",
)
_DEVICES_SQL = (
    f"SELECT d.id, d.topic, d.meter_id, m.meter_id, m.timezone, d.mapping_overrides::text, "  # noqa: S608
    "d.timezone, d.last_seen, d.last_sensor_at, d.last_meter_number "
    f"FROM {Device._meta.db_table} d LEFT JOIN {Meter._meta.db_table} m ON m.id = d.meter_id "
    "WHERE d.topic = ANY(%b::text[])"
)


def _device_states(topics: set[str]) -> dict[str, DeviceState]:
    """The devices of these topics with their meters, by topic: one query, rows not instances."""
    if not topics:
        return {}
    if settings.DATABASE_IS_POSTGRES:
        with array_cursor() as cursor:
            cursor.execute(_DEVICES_SQL, [list(topics)])
            rows = [
                (*row[:5], json.loads(row[5]) if row[5] not in (None, "{}") else {}, *row[6:])
                for row in cursor.fetchall()
            ]
    else:
        rows = Device.objects.filter(topic__in=topics).values_list(*_DEVICE_COLUMNS)
    return {row[1]: DeviceState(*row[:5], row[5] or {}, *row[6:]) for row in rows}


def _devices_for(
    topics: set[str], messages: list[Message], sensors: list[tuple[int, topics.Topic]]
) -> dict[str, DeviceState]:
    """Known devices by topic. A new or unassigned device whose payload names the number of a
    live meter without a device is attached to it; other new devices are recorded unassigned (or
    left out when unknown devices are ignored)."""
    if not topics:
        return {}
    devices = _device_states(topics)
    missing = topics - set(devices)
    unassigned = {name for name, device in devices.items() if device.meter_pk is None}
    if not missing and not unassigned:
        return devices
    numbers: dict[str, str] = {}
    for index, topic in sensors:
        if topic.device in missing | unassigned and topic.device not in numbers:
            number = guarded(_meter_number, messages[index].payload, message=messages[index])
            if number and not isinstance(number, Refused):
                numbers[topic.device] = number
    free_meters = {
        meter.meter_id: meter
        for meter in Meter.objects.filter(
            meter_id__in=set(numbers.values()), kind=MeterKind.LIVE, telemetry_device__isnull=True
        )
    }
    new = []
    for name in sorted(missing | unassigned):
        meter = free_meters.pop(numbers.get(name, ""), None)
        if name in unassigned:
            if meter is not None:
                # Conditional, so two ingest processes never attach one device twice.
                Device.objects.filter(pk=devices[name].pk, meter__isnull=True).update(meter=meter)
                log.info(
                    "telemetry: device %s attached to meter %s by its meter number", name, meter
                )
            continue
        if meter is None and settings.TELEMETRY_UNKNOWN_DEVICE == "ignore":
            continue
        new.append(Device(topic=name, meter=meter))
        if meter is not None:
            log.info("telemetry: device %s attached to meter %s by its meter number", name, meter)
    # Another ingest process may create the same device at the same moment.
    Device.objects.bulk_create(new, ignore_conflicts=True)
    devices.update(_device_states(missing | unassigned))
    return devices


def _meter_number(payload: bytes) -> str:
    return payloads.sensor_map(payloads.json_parse(payload)).meter_number[:64]


SKIP_BOOT_ZERO = "boot_zero"


def sensor_mapped(message: Message, *, overrides: dict | None) -> payloads.Mapped:
    """Step one of a SENSOR message: its bytes as the meter's quantities (raises PayloadError)."""
    return payloads.sensor_map(payloads.json_parse(message.payload), overrides)


def sensor_reading(
    mapped: payloads.Mapped,
    message: Message,
    *,
    meter_id: str,
    device_topic: str,
    tz: ZoneInfo,
    ahead: timedelta,
    behind: timedelta,
) -> meter_services.ReadingIn | str:
    """Step two: the quantities as the ReadingIn to store, or ``SKIP_BOOT_ZERO``. Pure (no
    database); raises PayloadError for registers it cannot store."""
    payloads.sensor_require_register(mapped)
    if mapped.is_boot_zero:
        return SKIP_BOOT_ZERO
    at, source = payloads.reading_time(
        mapped.time, tz=tz, received_at=message.received_at, max_ahead=ahead, max_behind=behind
    )
    raw = None
    if source == payloads.TIME_FROM_RECEIPT:
        # The stored time is not the device's: the payload is the only record of what it sent.
        # A reading with its own Time says all it has to say in its columns (#16).
        raw = {
            "device": device_topic,
            "time_source": source,
            "time": mapped.time,
            "payload": _printable(message.payload),
        }
    return meter_services.ReadingIn(
        meter_id=meter_id,
        at=at,
        import_kwh=mapped.import_kwh,
        export_kwh=mapped.export_kwh,
        power_w=mapped.power_w,
        power_l1_w=mapped.power_l1_w,
        power_l2_w=mapped.power_l2_w,
        power_l3_w=mapped.power_l3_w,
        raw=raw,
    )


def sensor_message_reading(
    message: Message, *, meter_id: str, device_topic: str = "", overrides=None, tz=None
) -> meter_services.ReadingIn | str | Refused:
    """A SENSOR message of an attached device from bytes to its fate, both steps guarded: a
    ReadingIn, ``SKIP_BOOT_ZERO`` or Refused — never an exception (the property tests' door)."""
    mapped = guarded(sensor_mapped, message, overrides=overrides, message=message)
    if isinstance(mapped, Refused):
        return mapped
    return guarded(
        sensor_reading,
        mapped,
        message,
        meter_id=meter_id,
        device_topic=device_topic,
        tz=tz or ZoneInfo(settings.TIME_ZONE),
        ahead=timedelta(seconds=settings.TELEMETRY_TIME_MAX_AHEAD_SECONDS),
        behind=timedelta(seconds=settings.TELEMETRY_TIME_MAX_BEHIND_SECONDS),
        message=message,
    )


def _store_sensors(
    messages: list[Message],
    sensors: list[tuple[int, topics.Topic]],
    devices: dict[str, DeviceState],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    if not sensors:
        return
    ahead = timedelta(seconds=settings.TELEMETRY_TIME_MAX_AHEAD_SECONDS)
    behind = timedelta(seconds=settings.TELEMETRY_TIME_MAX_BEHIND_SECONDS)
    pending: list[tuple[int, DeviceState, meter_services.ReadingIn]] = []
    touched: dict[int, DeviceState] = {}
    for index, topic in sensors:
        message = messages[index]
        device = devices.get(topic.device)
        if device is None:
            log.info("telemetry: ignored SENSOR of unknown device %s", topic.device)
            report.outcomes[index] = IGNORED
            report.codes["unknown_device_ignored"] += 1
            continue
        touched[device.pk] = device
        device.last_seen = max(filter(None, [device.last_seen, message.received_at]))
        device.last_sensor_at = max(filter(None, [device.last_sensor_at, message.received_at]))
        device.last_payload = _printable(message.payload)
        mapped = guarded(
            sensor_mapped, message, overrides=device.mapping_overrides, message=message
        )
        if not isinstance(mapped, Refused) and mapped.meter_number:
            device.last_meter_number = mapped.meter_number[:64]
        if not isinstance(mapped, Refused) and device.meter_pk is None:
            mapped = Refused(
                "unassigned_device",
                f"Device {device.topic} is not attached to a meter; attach it in the admin.",
            )
        reading = mapped
        if not isinstance(mapped, Refused):
            reading = guarded(
                sensor_reading,
                mapped,
                message,
                meter_id=device.meter_number,
                device_topic=device.topic,
                tz=device.tz,
                ahead=ahead,
                behind=behind,
                message=message,
            )
        if isinstance(reading, Refused):
            _reject(report, index, reading.code)
            _dead_letter(dead, message, reading.code, reading.reason, device)
        elif reading == SKIP_BOOT_ZERO:
            report.outcomes[index] = IGNORED
            report.codes["boot_zero"] += 1
        else:
            pending.append((index, device, reading))
    _readings_write(messages, _first_receipts(messages, pending, report), report, dead)
    _devices_touch(list(touched.values()))


def _readings_write(
    messages: list[Message],
    pending: list[tuple[int, DeviceState, meter_services.ReadingIn]],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    """The batch's readings in one call of the meters' ingest, each message's outcome from its
    reading's."""
    if not pending:
        return
    # A reading head cannot tell a meter exchange: a register that went down is a reset of
    # that register alone (the other one's energy of the interval still counts).
    results = meter_services.reading_ingest_bulk(
        items=[reading for _, _, reading in pending],
        source=ReadingSource.MQTT,
        infer_resets=True,
    )
    for (index, device, _), result in zip(pending, results, strict=True):
        if result.status == meter_services.REJECTED:
            code = result.code or "invalid"
            _reject(report, index, code)
            _dead_letter(dead, messages[index], code, result.reason, device)
        elif result.status == meter_services.DUPLICATE:
            report.outcomes[index] = DUPLICATE
        else:
            report.outcomes[index] = STORED


def stamped_on_receipt(reading: meter_services.ReadingIn) -> bool:
    """Whether the reading's time is its message's receive time (the device sent none usable)."""
    return reading.raw is not None and reading.raw["time_source"] == payloads.TIME_FROM_RECEIPT


def _first_receipts(
    messages: list[Message],
    pending: list[tuple[int, DeviceState, meter_services.ReadingIn]],
    report: BatchReport,
) -> list[tuple[int, DeviceState, meter_services.ReadingIn]]:
    """Exactly-once for readings stamped with their receive time: a redelivery has a new receive
    time, so the unique (meter, time) cannot recognise it. Their digests are recorded in this
    transaction (``ReceivedMessage``, kept TELEMETRY_DEDUP_WINDOW_SECONDS); one already recorded is
    a duplicate. Readings with a payload Time are idempotent by (meter, time) already."""
    stamped = {
        index: message_digest(messages[index])
        for index, _, reading in pending
        if stamped_on_receipt(reading)
    }
    if not stamped:
        return pending
    fresh = _digests_record(
        {digest: messages[index].received_at for index, digest in stamped.items()}
    )
    kept, seen = [], set()
    for entry in pending:
        digest = stamped.get(entry[0])
        if digest is not None and (digest not in fresh or digest in seen):
            report.outcomes[entry[0]] = DUPLICATE
            continue
        if digest is not None:
            seen.add(digest)
        kept.append(entry)
    return kept


_TOUCHED = ["last_seen", "last_sensor_at", "last_payload", "last_meter_number"]


def _devices_touch(devices: list[DeviceState]) -> None:
    """Write the devices' last-seen state: on PostgreSQL one UPDATE from arrays (the ORM's
    bulk_update builds a CASE per row and field, slower than the readings' COPY)."""
    if not devices:
        return
    if not settings.DATABASE_IS_POSTGRES:
        Device.objects.bulk_update(
            [Device(pk=d.pk, **{name: getattr(d, name) for name in _TOUCHED}) for d in devices],
            _TOUCHED,
        )
        return
    table = Device._meta.db_table
    with array_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET "  # noqa: S608 - constant table name
            "last_seen = GREATEST(d.last_seen, v.seen), "
            "last_sensor_at = GREATEST(d.last_sensor_at, v.sensor_at), "
            "last_payload = v.payload, last_meter_number = v.meter_number "
            "FROM unnest(%b::bigint[], %b::timestamptz[], %b::timestamptz[], %b::text[], "
            "%b::text[]) AS v(id, seen, sensor_at, payload, meter_number) WHERE d.id = v.id",
            [
                [d.pk for d in devices],
                [d.last_seen for d in devices],
                [d.last_sensor_at for d in devices],
                [d.last_payload for d in devices],
                [d.last_meter_number for d in devices],
            ],
        )
