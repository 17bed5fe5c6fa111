"""Every write of the telemetry app: a batch of MQTT messages into readings, device state and
dead letters; device attachment; supervision alerts.

``messages_store`` is the one place a message's fate is decided. The ingest process calls it with
a batch and acknowledges the batch's messages only after it returned (its transaction committed).

No message can stop the ingest, by construction rather than by a list of catches: everything a
message's bytes decide (its topic, JSON, mapping, bounds) runs in per-message steps through
``guarded``, which turns any exception into a ``Refused`` verdict (InputError/PayloadError: its
code; anything else: code ``error`` with the exception's class, logged with its traceback). Only
the batch writes run outside a step; when one of those fails for a reason that is not the
infrastructure's, ``messages_store_isolating`` bisects the batch so only the culprit is
dead-lettered. A message that kills the process outright is recognised on redelivery by the
ingest command (``inflight``) and dead-lettered with ``crashed_before``.
Readings are written through ``meters.services.reading_ingest_bulk`` (COPY on PostgreSQL), so the
meters' rules (unique meter+time, registers never go down unless reset, reception pause) hold.
"""

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from config.database import array_cursor
from config.exceptions import ApplicationError, NotFound, ServiceUnavailable
from config.inputs import InputError
from meters import services as meter_services
from meters.models import Meter, MeterKind, ReadingSource

from . import payloads, supervision
from .models import Alert, AlertKind, DeadLetter, Device, DeviceTransition, ReceivedMessage

log = logging.getLogger(__name__)

# Handlers of other apps' topics, by dotted path (resolved when first used).
BATTERY_TELEMETRY_HANDLER = "batteries.mqtt.handle_telemetry_batch"
BATTERY_ACK_HANDLER = "batteries.mqtt.handle_command_ack"

STORED = "stored"
DUPLICATE = "duplicate"
REJECTED = "rejected"
IGNORED = "ignored"

# Failures that are not the message's fault: the batch is held and retried, never dead-lettered.
INFRASTRUCTURE_ERRORS = (ServiceUnavailable, OperationalError, InterfaceError)
# A dead letter's reason is for people: long enough for a traceback's last line.
REASON_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    received_at: datetime


@dataclass
class BatchReport:
    """What became of each message of a batch (``outcomes[i]`` for ``messages[i]``) and why
    rejected ones were (``codes``)."""

    outcomes: list[str] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o == outcome)


def tele_root() -> str:
    return settings.TELEMETRY_TOPIC_ROOT


def batteries_root() -> str:
    return getattr(settings, "BATTERIES_MQTT_TOPIC_ROOT", "batteries")


def message_digest(message: Message) -> str:
    """A message's identity across redeliveries: its topic and bytes (MQTT's packet id is
    reused, and a restarted process sees redelivered messages without the dup flag)."""
    return hashlib.sha256(message.topic.encode() + b"\n" + bytes(message.payload)).hexdigest()


@dataclass(frozen=True)
class Refused:
    """A per-message step's verdict on a message it cannot use."""

    code: str
    reason: str


def guarded(step, *args, message: Message, **kwargs):
    """``step(*args, **kwargs)``, or the Refused verdict for whatever it raised: the one place a
    message's own failure is turned into a dead letter instead of stopping the batch or the
    process. Infrastructure errors propagate: retrying the batch later may succeed."""
    try:
        return step(*args, **kwargs)
    except INFRASTRUCTURE_ERRORS:
        raise
    except (payloads.PayloadError, InputError) as exc:
        return Refused(exc.code, str(exc))
    except Exception as exc:
        log.exception("telemetry: message on %s broke %s", message.topic[:256], step.__name__)
        return Refused("error", f"{type(exc).__name__}: {exc}")


def _dead_letter_row(message: Message, code: str, reason: str, device=None) -> DeadLetter:
    return DeadLetter(
        topic=message.topic[:256].replace("\x00", ""),
        payload=bytes(message.payload),
        code=code[:32],
        # PostgreSQL text cannot hold NUL, and an exception's text may quote the payload.
        reason=reason.replace("\x00", "")[:REASON_MAX_LENGTH],
        device=device,
        received_at=message.received_at,
    )


def _dead_letter(
    dead: list[DeadLetter], message: Message, code: str, reason: str, device=None
) -> None:
    log.warning("telemetry: %s on %s: %s", code, message.topic[:256], reason[:500])
    if settings.TELEMETRY_DEAD_LETTERS:
        dead.append(_dead_letter_row(message, code, reason, device))


@transaction.atomic
def messages_store(*, messages: list[Message]) -> BatchReport:
    """Store a batch of messages in one transaction and report each one's outcome.

    A message that cannot be stored (bad JSON, no register, unknown device, conflict) is rejected
    alone — logged, counted and kept as a dead letter — and never blocks the rest. Raises
    ServiceUnavailable, storing nothing, while reception is paused: the caller keeps the batch
    unacknowledged and tries again later.
    """
    meter_services.reception_ensure_open()
    report = BatchReport(outcomes=[""] * len(messages))
    dead: list[DeadLetter] = []
    sensors: list[tuple[int, payloads.Topic]] = []
    lwts: list[tuple[int, payloads.Topic]] = []
    states: list[tuple[int, payloads.Topic]] = []
    battery_telemetry: list[tuple[int, payloads.Topic]] = []
    battery_acks: list[tuple[int, payloads.Topic]] = []
    routes = {
        "SENSOR": sensors,
        "LWT": lwts,
        "STATE": states,
        "battery_telemetry": battery_telemetry,
        "battery_ack": battery_acks,
    }
    for index, message in enumerate(messages):
        topic = guarded(
            payloads.topic_parse,
            message.topic,
            tele_root=tele_root(),
            batteries_root=batteries_root(),
            message=message,
        )
        if isinstance(topic, Refused):
            _reject(report, index, topic.code)
            _dead_letter(dead, message, topic.code, topic.reason)
            continue
        if topic is None:
            report.outcomes[index] = IGNORED
            continue
        routes[topic.kind].append((index, topic))

    devices = _devices_for({t.device for _, t in sensors + lwts + states}, messages, sensors)
    _store_sensors(messages, sensors, devices, report, dead)
    _store_lwts(messages, lwts, devices, report, dead)
    _store_states(messages, states, devices, report)
    _store_battery_telemetry(messages, battery_telemetry, report, dead)
    _store_battery_acks(messages, battery_acks, report, dead)
    DeadLetter.objects.bulk_create(dead)
    report.outcomes = [outcome or IGNORED for outcome in report.outcomes]
    return report


def _printable(payload: bytes, limit: int = 2000) -> str:
    """A payload as text for a text column: undecodable bytes replaced, NULs (which PostgreSQL
    text cannot hold) dropped."""
    return payload[:limit].decode("utf-8", errors="replace").replace("\x00", "")


def _reject(report: BatchReport, index: int, code: str) -> None:
    report.outcomes[index] = REJECTED
    report.codes[code] += 1


def _devices_with_meters():
    """Devices with what a batch uses of them and of their meters: every batch loads hundreds,
    and building whole model instances was a large part of its time."""
    return Device.objects.select_related("meter").only(
        "topic",
        "meter__meter_id",
        "meter__timezone",
        "mapping_overrides",
        "timezone",
        "online",
        "online_changed_at",
        "last_seen",
        "last_sensor_at",
        "last_meter_number",
    )


def _devices_for(
    topics: set[str], messages: list[Message], sensors: list[tuple[int, payloads.Topic]]
) -> dict[str, Device]:
    """Known devices by topic. A new or unassigned device whose payload names the number of a
    live meter without a device is attached to it; other new devices are recorded unassigned (or
    left out when unknown devices are ignored)."""
    if not topics:
        return {}
    devices = {d.topic: d for d in _devices_with_meters().filter(topic__in=topics)}
    missing = topics - set(devices)
    unassigned = {name for name, device in devices.items() if device.meter_id is None}
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
    devices.update(
        {d.topic: d for d in _devices_with_meters().filter(topic__in=missing | unassigned)}
    )
    return devices


def _meter_number(payload: bytes) -> str:
    return payloads.sensor_map(payloads.json_parse(payload)).meter_number[:64]


def _device_tz(device: Device) -> ZoneInfo:
    if device.timezone:
        return ZoneInfo(device.timezone)
    if device.meter is not None:
        return device.meter.tz
    return ZoneInfo(settings.TIME_ZONE)


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
    return meter_services.ReadingIn(
        meter_id=meter_id,
        at=at,
        import_kwh=mapped.import_kwh,
        export_kwh=mapped.export_kwh,
        power_w=mapped.power_w,
        power_l1_w=mapped.power_l1_w,
        power_l2_w=mapped.power_l2_w,
        power_l3_w=mapped.power_l3_w,
        raw={
            "device": device_topic,
            "time_source": source,
            "time": mapped.time,
            "payload": _printable(message.payload),
        },
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
    sensors: list[tuple[int, payloads.Topic]],
    devices: dict[str, Device],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    if not sensors:
        return
    ahead = timedelta(seconds=settings.TELEMETRY_TIME_MAX_AHEAD_SECONDS)
    behind = timedelta(seconds=settings.TELEMETRY_TIME_MAX_BEHIND_SECONDS)
    pending: list[tuple[int, Device, meter_services.ReadingIn]] = []
    touched: dict[int, Device] = {}
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
        if not isinstance(mapped, Refused) and device.meter is None:
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
                meter_id=device.meter.meter_id,
                device_topic=device.topic,
                tz=_device_tz(device),
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
    pending = _first_receipts(messages, pending, report)
    if pending:
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
    _devices_touch(list(touched.values()))


def _first_receipts(
    messages: list[Message],
    pending: list[tuple[int, Device, meter_services.ReadingIn]],
    report: BatchReport,
) -> list[tuple[int, Device, meter_services.ReadingIn]]:
    """Exactly-once for readings stamped with their receive time: a redelivery has a new receive
    time, so the unique (meter, time) cannot recognise it. Their digests are recorded in this
    transaction (``ReceivedMessage``, kept TELEMETRY_DEDUP_WINDOW_SECONDS); one already recorded is
    a duplicate. Readings with a payload Time are idempotent by (meter, time) already."""
    stamped = {
        index: message_digest(messages[index])
        for index, _, reading in pending
        if reading.raw["time_source"] == payloads.TIME_FROM_RECEIPT
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


def _digests_record(digests: dict[str, datetime]) -> set[str]:
    """Record digests (with when received); return those that were not recorded before."""
    if settings.DATABASE_IS_POSTGRES:
        table = ReceivedMessage._meta.db_table
        with array_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (digest, received_at) "  # noqa: S608 - constant table name
                "SELECT * FROM unnest(%b::text[], %b::timestamptz[]) ON CONFLICT DO NOTHING "
                "RETURNING digest",
                [list(digests), list(digests.values())],
            )
            return {row[0] for row in cursor.fetchall()}
    # SQLite (the embedded demo) has one writer at a time: reading, then inserting, is safe.
    known = set(ReceivedMessage.objects.filter(digest__in=digests).values_list("digest", flat=True))
    fresh = {digest: at for digest, at in digests.items() if digest not in known}
    ReceivedMessage.objects.bulk_create(
        [ReceivedMessage(digest=digest, received_at=at) for digest, at in fresh.items()],
        ignore_conflicts=True,
    )
    return set(fresh)


def received_messages_prune(*, now: datetime | None = None) -> int:
    """Forget receipt digests older than the dedup window (supervision runs this every minute)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.TELEMETRY_DEDUP_WINDOW_SECONDS)
    deleted, _ = ReceivedMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted


_TOUCHED = ["last_seen", "last_sensor_at", "last_payload", "last_meter_number"]


def _devices_touch(devices: list[Device]) -> None:
    """Write the devices' last-seen state: on PostgreSQL one UPDATE from arrays (the ORM's
    bulk_update builds a CASE per row and field, slower than the readings' COPY)."""
    if not devices:
        return
    if not settings.DATABASE_IS_POSTGRES:
        Device.objects.bulk_update(devices, _TOUCHED)
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


def _store_lwts(
    messages: list[Message],
    lwts: list[tuple[int, payloads.Topic]],
    devices: dict[str, Device],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    for index, topic in lwts:
        message = messages[index]
        device = devices.get(topic.device)
        if device is None:
            report.outcomes[index] = IGNORED
            continue
        online = guarded(payloads.lwt_parse, message.payload, message=message)
        if isinstance(online, Refused):
            _reject(report, index, online.code)
            _dead_letter(dead, message, online.code, online.reason, device)
            continue
        device_set_online(device=device, online=online, at=message.received_at)
        report.outcomes[index] = STORED


def device_set_online(*, device: Device, online: bool, at: datetime) -> None:
    """Record an LWT: the device's online state and, when it changed, a transition."""
    device.refresh_from_db(fields=["online", "online_changed_at", "last_seen"])
    device.last_seen = max(filter(None, [device.last_seen, at]))
    changed = device.online != online
    if changed:
        device.online = online
        device.online_changed_at = at
        DeviceTransition.objects.create(device=device, online=online, at=at)
        log.info("telemetry: device %s is %s", device, "online" if online else "offline")
    device.save(update_fields=["online", "online_changed_at", "last_seen"])


def _store_states(
    messages: list[Message],
    states: list[tuple[int, payloads.Topic]],
    devices: dict[str, Device],
    report: BatchReport,
) -> None:
    """Tasmota's STATE heartbeat: the device is alive (last seen), nothing else is kept."""
    seen: dict[int, datetime] = {}
    for index, topic in states:
        device = devices.get(topic.device)
        report.outcomes[index] = STORED if device else IGNORED
        if device is not None:
            at = messages[index].received_at
            seen[device.pk] = max(seen.get(device.pk, at), at)
    for pk, at in seen.items():
        Device.objects.filter(pk=pk).filter(Q(last_seen__isnull=True) | Q(last_seen__lt=at)).update(
            last_seen=at
        )


def _store_battery_telemetry(
    messages: list[Message],
    items: list[tuple[int, payloads.Topic]],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    if not items:
        return
    handler = import_string(BATTERY_TELEMETRY_HANDLER)
    batch = [(t.device, messages[i].payload, messages[i].received_at) for i, t in items]
    redelivered: set[int] = set()

    def redeliveries(positions: list[int]) -> set[int]:
        digests = {p: message_digest(messages[items[p][0]]) for p in positions}
        fresh = _digests_record({d: messages[items[p][0]].received_at for p, d in digests.items()})
        first: set[str] = set()
        for position, digest in digests.items():
            if digest in fresh and digest not in first:
                first.add(digest)
            else:
                redelivered.add(position)
        return redelivered

    _, errors = handler(batch, redeliveries=redeliveries)
    failed = dict(errors)
    for position, (index, _) in enumerate(items):
        error = failed.get(position)
        if position in redelivered:
            report.outcomes[index] = DUPLICATE
            continue
        if error is None:
            report.outcomes[index] = STORED
            continue
        if isinstance(error, NotFound):
            code = "unknown_battery"
        else:
            code = getattr(error, "code", None) or "error"
        reason = str(error) if code != "error" else f"{type(error).__name__}: {error}"
        _reject(report, index, code)
        _dead_letter(dead, messages[index], code, reason)


def _store_battery_acks(
    messages: list[Message],
    items: list[tuple[int, payloads.Topic]],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    if not items:
        return
    handler = import_string(BATTERY_ACK_HANDLER)
    for index, topic in items:
        message = messages[index]
        try:
            # A savepoint per acknowledgement: one that fails, even in the database, leaves
            # the batch's transaction usable.
            with transaction.atomic():
                handler(topic.device, message.payload, message.received_at)
        except INFRASTRUCTURE_ERRORS:
            raise
        except (ValueError, ApplicationError) as exc:
            code = getattr(exc, "code", None)
            code = code if isinstance(code, str) and code != "bad_battery_payload" else None
            _reject(report, index, code or "bad_battery_ack")
            _dead_letter(dead, message, code or "bad_battery_ack", str(exc))
            continue
        except Exception as exc:
            log.exception("telemetry: battery acknowledgement on %s failed", message.topic[:256])
            _reject(report, index, "error")
            _dead_letter(dead, message, "error", f"{type(exc).__name__}: {exc}")
            continue
        report.outcomes[index] = STORED


def messages_store_isolating(*, messages: list[Message]) -> BatchReport:
    """``messages_store``, and when the batch's writes fail for a reason that is not the
    infrastructure's (a bug or a database refusal no per-message step foresaw), the batch is
    bisected and each half stored on its own: the good messages go in, and only the message that
    fails alone is dead-lettered, with code ``error`` and the exception's class. A culprit costs
    about 2·log2(batch) extra transactions, not one per message. Infrastructure errors propagate
    (the caller holds and retries the batch)."""
    try:
        return messages_store(messages=messages)
    except INFRASTRUCTURE_ERRORS:
        raise
    except Exception as exc:
        if len(messages) == 1:
            log.exception("telemetry: message on %s failed alone", messages[0].topic[:256])
            return messages_dead_letter(
                messages=messages, code="error", reason=f"{type(exc).__name__}: {exc}"
            )
        log.warning(
            "telemetry: a batch of %d failed (%s: %s); storing its halves apart",
            len(messages),
            type(exc).__name__,
            exc,
        )
    middle = len(messages) // 2
    report = messages_store_isolating(messages=messages[:middle])
    rest = messages_store_isolating(messages=messages[middle:])
    report.outcomes.extend(rest.outcomes)
    report.codes.update(rest.codes)
    return report


def messages_dead_letter(*, messages: list[Message], code: str, reason: str) -> BatchReport:
    """Keep messages as dead letters without reading them (a message that failed alone, or one
    that was in progress when the process died ``crashed_before``). Should even this write fail
    for a reason of its own, the message is logged and given up: a dead letter must not become
    a poison message itself."""
    report = BatchReport(outcomes=[REJECTED] * len(messages), codes=Counter({code: len(messages)}))
    for message in messages:
        log.warning("telemetry: %s on %s: %s", code, message.topic[:256], reason[:500])
    if not settings.TELEMETRY_DEAD_LETTERS:
        return report
    try:
        with transaction.atomic():
            DeadLetter.objects.bulk_create(
                [_dead_letter_row(message, code, reason) for message in messages]
            )
    except INFRASTRUCTURE_ERRORS:
        raise
    except Exception:
        log.exception(
            "telemetry: could not keep %d dead letters (%s); payloads: %r",
            len(messages),
            code,
            [bytes(m.payload[:200]) for m in messages],
        )
    return report


# --- Devices ----------------------------------------------------------------------------------


def device_attach_check(*, device: Device, meter: Meter | None) -> None:
    """Raise ApplicationError unless ``device`` may feed ``meter``: a live meter without another
    device."""
    if meter is None:
        return
    if meter.kind != MeterKind.LIVE:
        raise ApplicationError(
            f"Meter {meter} is an interval meter; only live meters take telemetry.",
            field="meter",
        )
    other = Device.objects.filter(meter=meter).exclude(pk=device.pk).first()
    if other is not None:
        raise ApplicationError(
            f"Meter {meter} already has device {other}; detach it first.", field="meter"
        )


@transaction.atomic
def device_attach(*, device: Device, meter: Meter | None) -> Device:
    """Attach a device to a live meter (or detach it with None)."""
    device_attach_check(device=device, meter=meter)
    device.meter = meter
    device.full_clean()
    device.save(update_fields=["meter"])
    log.info("telemetry: device %s attached to meter %s", device, meter)
    return device


@transaction.atomic
def dead_letters_retry(*, letters: list[DeadLetter]) -> BatchReport:
    """Feed dead letters through ingest again (e.g. once their device is attached or its mapping
    fixed). Each letter is removed; one that fails again comes back as a new dead letter.
    Raises ServiceUnavailable while reception is paused."""
    messages = [
        Message(topic=letter.topic, payload=bytes(letter.payload), received_at=letter.received_at)
        for letter in sorted(letters, key=lambda letter: letter.received_at)
    ]
    DeadLetter.objects.filter(pk__in=[letter.pk for letter in letters]).delete()
    return messages_store(messages=messages)


# --- Supervision alerts -----------------------------------------------------------------------


def _alert_recipients() -> list[str]:
    if settings.TELEMETRY_ALERT_EMAILS:
        return list(settings.TELEMETRY_ALERT_EMAILS)
    staff = get_user_model().objects.filter(is_active=True, role="staff").exclude(email="")
    return list(staff.values_list("email", flat=True))


def _mail(subject: str, body: str) -> None:
    recipients = _alert_recipients()
    if recipients:
        transaction.on_commit(
            lambda: send_mail(subject, body, None, recipients, fail_silently=True)
        )


@transaction.atomic
def alert_raise(*, kind: str, message: str, device: Device | None = None) -> Alert | None:
    """Open an alert unless one of that kind (and device) is already open; mails staff on open.
    Returns the new alert, or None when it was already open."""
    if Alert.objects.filter(kind=kind, device=device, resolved_at__isnull=True).exists():
        return None
    alert = Alert.objects.create(
        kind=kind, device=device, message=message, opened_at=timezone.now()
    )
    log.warning("telemetry alert: %s", alert)
    _mail(f"[HomeGrid] {alert.get_kind_display()}", message)
    return alert


@transaction.atomic
def alert_resolve(*, kind: str, device: Device | None = None) -> Alert | None:
    """Close the open alert of that kind (and device), if any; mails staff that it cleared."""
    alert = Alert.objects.filter(kind=kind, device=device, resolved_at__isnull=True).first()
    if alert is None:
        return None
    alert.resolved_at = timezone.now()
    alert.save(update_fields=["resolved_at"])
    log.info("telemetry alert resolved: %s", alert)
    _mail(f"[HomeGrid] Resolved: {alert.get_kind_display()}", alert.message)
    return alert


def supervision_run() -> dict:
    """Judge the ingest and the devices (see ``supervision.ingest_state``), open alerts for what
    is wrong and resolve those that cleared. Returns the state, also kept for /status."""
    state = supervision.ingest_state()
    if state["status"] == supervision.DOWN:
        alert_raise(kind=AlertKind.INGEST_DOWN, message="; ".join(state["reasons"]))
    else:
        alert_resolve(kind=AlertKind.INGEST_DOWN)
    ingest_problems = [r for r in state["reasons"] if r.startswith("ingest ")]
    if state["status"] != supervision.DOWN and ingest_problems:
        alert_raise(kind=AlertKind.INGEST_DEGRADED, message="; ".join(ingest_problems))
    else:
        alert_resolve(kind=AlertKind.INGEST_DEGRADED)
    for kind, topics in (
        (AlertKind.DEVICE_SILENT, set(state["devices_silent"])),
        (AlertKind.DEVICE_OFFLINE, set(state["devices_offline"])),
    ):
        for device in Device.objects.filter(topic__in=topics):
            what = "stopped reporting" if kind == AlertKind.DEVICE_SILENT else "is offline (LWT)"
            alert_raise(
                kind=kind,
                device=device,
                message=f"Device {device} (meter {device.meter}) {what}.",
            )
        for alert in Alert.objects.filter(kind=kind, resolved_at__isnull=True).exclude(
            device__topic__in=topics
        ):
            alert_resolve(kind=kind, device=alert.device)
    received_messages_prune()
    supervision.state_remember(state)
    return state
