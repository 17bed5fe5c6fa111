"""A batch of MQTT messages into readings, device state and dead letters; the battery topics go
to the handlers the batteries app registered (``meters.telemetry.registry``).

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

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from config.database import array_cursor
from config.exceptions import ApplicationError, NotFound
from meters import services as meter_services

from .. import payloads, registry, topics
from ..models import DeadLetter, Device
from .devices import device_set_online
from .messages import (
    DUPLICATE,
    IGNORED,
    INFRASTRUCTURE_ERRORS,
    STORED,
    BatchReport,
    Message,
    Refused,
    _dead_letter,
    _digests_record,
    _reject,
    guarded,
    message_digest,
    messages_dead_letter,
)
from .sensors import DeviceState, _devices_for, _store_sensors

log = logging.getLogger("meters.telemetry.services")


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
    sensors: list[tuple[int, topics.Topic]] = []
    lwts: list[tuple[int, topics.Topic]] = []
    states: list[tuple[int, topics.Topic]] = []
    battery_telemetry: list[tuple[int, topics.Topic]] = []
    battery_acks: list[tuple[int, topics.Topic]] = []
    routes = {
        "SENSOR": sensors,
        "LWT": lwts,
        "STATE": states,
        topics.BATTERY_TELEMETRY: battery_telemetry,
        topics.BATTERY_ACK: battery_acks,
    }
    for index, message in enumerate(messages):
        topic = guarded(
            topics.topic_parse,
            message.topic,
            tele_root=topics.tele_root(),
            batteries_root=topics.batteries_root(),
            message=message,
        )
        if isinstance(topic, Refused):
            _reject(report, index, topic.code)
            _dead_letter(dead, message, topic.code, topic.reason)
            continue
        if topic is None or (
            topic.kind in (topics.BATTERY_TELEMETRY, topics.BATTERY_ACK)
            and registry.topic_handler(topic.kind) is None
        ):
            # Not ours, or a battery topic while no app handles it (batteries not installed).
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


def _store_lwts(
    messages: list[Message],
    lwts: list[tuple[int, topics.Topic]],
    devices: dict[str, DeviceState],
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
        # An LWT is rare: the model instance is made only here (the write reads what it needs).
        device_set_online(
            device=Device(pk=device.pk, topic=device.topic), online=online, at=message.received_at
        )
        report.outcomes[index] = STORED


def _store_states(
    messages: list[Message],
    states: list[tuple[int, topics.Topic]],
    devices: dict[str, DeviceState],
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
    if not seen:
        return
    if settings.DATABASE_IS_POSTGRES:
        with array_cursor() as cursor:
            cursor.execute(
                f"UPDATE {Device._meta.db_table} AS d SET last_seen = v.at "  # noqa: S608 - constant
                "FROM unnest(%b::bigint[], %b::timestamptz[]) AS v(id, at) "
                "WHERE d.id = v.id AND (d.last_seen IS NULL OR d.last_seen < v.at)",
                [list(seen), list(seen.values())],
            )
        return
    for pk, at in seen.items():
        Device.objects.filter(pk=pk).filter(Q(last_seen__isnull=True) | Q(last_seen__lt=at)).update(
            last_seen=at
        )


def _store_battery_telemetry(
    messages: list[Message],
    items: list[tuple[int, topics.Topic]],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    if not items:
        return
    handler = registry.topic_handler(topics.BATTERY_TELEMETRY)
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
    items: list[tuple[int, topics.Topic]],
    report: BatchReport,
    dead: list[DeadLetter],
) -> None:
    if not items:
        return
    handler = registry.topic_handler(topics.BATTERY_ACK)
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
