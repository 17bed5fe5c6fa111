"""The one description of the MQTT topic layout the ingest serves, built and parsed here:

- ``<tele root>/<device>/SENSOR|LWT|STATE`` (Tasmota; ``settings.TELEMETRY_TOPIC_ROOT``);
- ``<batteries root>/<identifier>/telemetry`` (unit -> platform), ``.../cmd`` (platform -> unit)
  and ``.../cmd/ack`` (unit -> platform); ``settings.BATTERIES_MQTT_TOPIC_ROOT``.

The batteries app builds its topics with these functions and registers its handlers for the two
kinds it receives (``registry``); the ingest subscribes to a battery topic only when a handler
for it is registered.
"""

from dataclasses import dataclass

from django.conf import settings

from .payloads import DEVICE_MAX_LENGTH, PayloadError

TOPIC_KINDS = ("SENSOR", "LWT", "STATE")
BATTERY_TELEMETRY = "battery_telemetry"
BATTERY_ACK = "battery_ack"


def tele_root() -> str:
    return settings.TELEMETRY_TOPIC_ROOT


def batteries_root() -> str:
    return getattr(settings, "BATTERIES_MQTT_TOPIC_ROOT", "batteries")


def battery_telemetry_topic(identifier: str) -> str:
    return f"{batteries_root()}/{identifier}/telemetry"


def battery_command_topic(identifier: str) -> str:
    return f"{batteries_root()}/{identifier}/cmd"


def battery_ack_topic(identifier: str) -> str:
    return f"{battery_command_topic(identifier)}/ack"


def subscriptions(shared_group: str, *, battery_kinds: set[str]) -> list[str]:
    """The filters an ingest process subscribes to: Tasmota's, and the battery kinds handled
    here; through ``$share/<group>/`` when processes share the topics."""
    topics = [f"{tele_root()}/#"]
    if BATTERY_TELEMETRY in battery_kinds:
        topics.append(battery_telemetry_topic("+"))
    if BATTERY_ACK in battery_kinds:
        topics.append(battery_ack_topic("+"))
    if shared_group:
        topics = [f"$share/{shared_group}/{topic}" for topic in topics]
    return topics


@dataclass(frozen=True)
class Topic:
    kind: str  # "SENSOR", "LWT", "STATE" (Tasmota) or "battery_telemetry", "battery_ack"
    device: str


def topic_parse(topic: str, *, tele_root: str, batteries_root: str) -> Topic | None:
    """``tele/<device>/SENSOR|LWT|STATE`` and ``<batteries>/<id>/telemetry|cmd/ack``; None for
    any other topic (Tasmota's INFO1, RESULT, ... and foreign roots are not ours). A device topic
    may itself contain slashes (Tasmota's %prefix%/%topic%).

    Raises PayloadError for a topic that is meant for us but cannot be used, so it is
    dead-lettered by code instead of silently dropped: ``empty_device`` (``tele//SENSOR``),
    ``device_too_long`` (longer than a device's name can be), ``unknown_topic_kind``
    (``tele/x/sensor``: Tasmota's kinds are upper case)."""
    for root in (tele_root, batteries_root):
        if not topic.startswith(root + "/"):
            continue
        parts = topic[len(root) + 1 :].split("/")
        if root == tele_root and len(parts) >= 2:
            kind = parts[-1]
            if kind not in TOPIC_KINDS:
                if kind.upper() in TOPIC_KINDS:
                    raise PayloadError(
                        "unknown_topic_kind",
                        f"Topic kind {kind!r} is not one of {', '.join(TOPIC_KINDS)} "
                        "(Tasmota's kinds are upper case).",
                    )
                continue
            return Topic(kind=kind, device=_device_name("/".join(parts[:-1])))
        if root == batteries_root and len(parts) >= 2:
            if parts[1:] == ["telemetry"]:
                return Topic(kind=BATTERY_TELEMETRY, device=_device_name(parts[0]))
            if parts[1:] == ["cmd", "ack"]:
                return Topic(kind=BATTERY_ACK, device=_device_name(parts[0]))
    return None


def _device_name(name: str) -> str:
    if not name.strip("/"):
        raise PayloadError("empty_device", "The topic names no device (an empty level).")
    if len(name) > DEVICE_MAX_LENGTH:
        raise PayloadError(
            "device_too_long",
            f"The device name has {len(name)} characters; at most {DEVICE_MAX_LENGTH}.",
        )
    return name
