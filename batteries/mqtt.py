"""MQTT transport for batteries: the handlers the ingest process calls (publishing is ``publish``).

Topics (``<root>`` is ``settings.BATTERIES_MQTT_TOPIC_ROOT``, default ``batteries``; built and
parsed by ``meters.telemetry.topics``, the handlers registered in ``BatteriesConfig.ready``):

- ``<root>/<identifier>/telemetry`` (unit -> platform): handled by ``handle_telemetry`` or, for a
  batch of messages, ``handle_telemetry_batch``.
- ``<root>/<identifier>/cmd`` (platform -> unit, QoS 1): published by
  ``batteries.publish.publish_commands``.
- ``<root>/<identifier>/cmd/ack`` (unit -> platform): handled by ``handle_command_ack``.

Telemetry payload: a JSON object, or a JSON array of such objects (several readings at once)::

    {
      "timestamp": "2026-11-22T17:30:00Z",  # ISO 8601; optional, default: when received;
                                            # without an offset it is read in TIME_ZONE
      "soc_percent": 64.5,                  # 0..100
      "power_kw": -2.4,                     # signed: + discharging, - charging; -1000..1000
      "voltage_v": 51.8,                    # >= 0
      "temperature_c": 27.1,                # -50..100
      "status": "charging",                 # idle | charging | discharging | offline
      "flag": "ok"                          # ok | warning | error; optional, default ok
    }

Numbers may also be strings ("64.5"). A replayed message stores nothing new.

Command payload (published)::

    {"instruction_id": "<uuid>", "action": "charge|discharge|hold|idle|set_reserve",
     "power_kw": 3.0 | null, "reserve_soc": 20.0 | null,
     "issued_at": "<ISO 8601>", "expires_at": "<ISO 8601>"}

A unit must fall back to its own control at ``expires_at`` unless it receives the same
``instruction_id`` again with a later ``expires_at`` (a refresh).

Acknowledgement payload::

    {"instruction_id": "<uuid>", "result": "accepted" | "rejected", "reason": "optional text"}

Every handler raises ``BadPayload`` (a ValueError) for a payload it cannot use, with a message
naming the problem and a ``code`` (the shared input rule's, e.g. ``too_deep``, or
``bad_battery_payload``), and ``config.exceptions.NotFound`` for an unknown battery or
instruction; the caller dead-letters such a message (retrying cannot make it valid). The batch
handler never lets one message's failure, foreseen or not, stop the others.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import InterfaceError, OperationalError
from django.utils import timezone

from config.exceptions import InvalidInput, NotFound, ServiceUnavailable
from config.inputs import InputError, json_loads
from meters.telemetry import topics

from . import services
from .models import Battery
from .sql import field_in

log = logging.getLogger(__name__)


class BadPayload(ValueError):
    """The message cannot be used as it is; its text says why, its ``code`` which rule."""

    def __init__(self, message: str, code: str = "bad_battery_payload"):
        super().__init__(message)
        self.code = code


# The layout is described once, with the ingest that parses it; these are its battery names.
telemetry_topic = topics.battery_telemetry_topic
command_topic = topics.battery_command_topic
ack_topic = topics.battery_ack_topic


def _json(payload: bytes) -> object:
    try:
        return json_loads(payload)
    except InputError as exc:
        what = "is not JSON" if exc.code == "not_json" else "is refused"
        raise BadPayload(f"Payload {what}: {exc.message}", code=exc.code) from exc


# A message with more readings than this is not a unit's backlog but a flood.
MAX_READINGS_PER_MESSAGE = 1000


def _readings(
    identifier: str,
    payload: bytes,
    received_at: datetime,
    battery: Battery,
    now: datetime | None = None,
) -> list:
    data = _json(payload)
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_READINGS_PER_MESSAGE:
        raise BadPayload(f"A message holds 1 to {MAX_READINGS_PER_MESSAGE} readings.")
    readings = []
    for index, item in enumerate(items):
        try:
            values = services.reading_values_parse(item, default_at=received_at, now=now)
        except InvalidInput as exc:
            where = f"reading {index}" if isinstance(data, list) else "reading"
            problems = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.errors.items())
            raise BadPayload(f"{identifier} {where}: {problems}") from exc
        readings.append((battery, values))
    return readings


def _battery(identifier: str) -> Battery:
    try:
        return Battery.objects.get(identifier=identifier)
    except Battery.DoesNotExist as exc:
        raise NotFound(f"No battery {identifier}.") from exc


def handle_telemetry(
    identifier: str, payload: bytes, received_at: datetime
) -> services.IngestResult:
    """Store the reading(s) of one ``<root>/<identifier>/telemetry`` message. A reading that
    contradicts a stored one (same timestamp, other values) is dropped and counted in
    ``conflicts``; the rest of the message is stored."""
    battery = _battery(identifier)
    return services.readings_ingest(
        readings=_readings(identifier, payload, received_at, battery),
        source="mqtt",
        skip_conflicts=True,
    )


def _stamped_on_receipt(payload_readings: list, received_at: datetime) -> bool:
    return any(values.at == received_at for _, values in payload_readings)


def handle_telemetry_batch(
    messages: Iterable[tuple[str, bytes, datetime]],
    *,
    redeliveries: Callable[[list[int]], set[int]] | None = None,
) -> tuple[services.IngestResult, list[tuple[int, Exception]]]:
    """Store many telemetry messages ``(identifier, payload, received_at)`` in one transaction.
    Messages that are bad or name an unknown battery are left out and returned with their index
    and error; the others are stored (returns the ingest counts and those errors). Whatever one
    message contains, its failure is its own: an unforeseen exception is returned as its error
    (and logged), never raised.

    ``redeliveries``: called with the indexes of messages with a reading stamped with its receive
    time (no timestamp in the payload), returns those already stored once (a redelivery), which
    are skipped: their (battery, time) cannot recognise them."""
    messages = list(messages)
    batteries = {
        battery.identifier: battery
        for battery in Battery.objects.filter(
            field_in("identifier", {m[0] for m in messages}, "text")
        ).only("id", "identifier")
    }
    parsed: dict[int, list] = {}
    errors = []
    now = timezone.now()
    for index, (identifier, payload, received_at) in enumerate(messages):
        battery = batteries.get(identifier)
        if battery is None:
            errors.append((index, NotFound(f"No battery {identifier}.")))
            continue
        try:
            parsed[index] = _readings(identifier, payload, received_at, battery, now)
        except BadPayload as exc:
            errors.append((index, exc))
        except (ServiceUnavailable, OperationalError, InterfaceError):
            raise
        except Exception as exc:
            log.exception("batteries: telemetry message of %s broke its parsing", identifier)
            errors.append((index, exc))
    if redeliveries is not None:
        stamped = [i for i, found in parsed.items() if _stamped_on_receipt(found, messages[i][2])]
        for index in redeliveries(stamped) if stamped else ():
            del parsed[index]
    readings = [reading for found in parsed.values() for reading in found]
    result = services.readings_ingest(readings=readings, source="mqtt", skip_conflicts=True)
    return result, errors


def handle_command_ack(identifier: str, payload: bytes, received_at: datetime) -> None:
    """Record a unit's answer from ``<root>/<identifier>/cmd/ack``."""
    data = _json(payload)
    if not isinstance(data, dict):
        raise BadPayload("An acknowledgement is a JSON object.")
    result = data.get("result")
    if result not in ("accepted", "rejected"):
        raise BadPayload('result must be "accepted" or "rejected".')
    try:
        instruction_id = uuid.UUID(str(data.get("instruction_id")))
    except ValueError as exc:
        raise BadPayload("instruction_id must be the UUID of the command.") from exc
    reason = data.get("reason") or ""
    services.instruction_answer(
        identifier=identifier,
        instruction_id=str(instruction_id),
        accepted=result == "accepted",
        reason=str(reason),
    )
