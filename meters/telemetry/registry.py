"""Handlers of other apps' topics, registered by those apps (in ``AppConfig.ready``) so the
dependency points from them to telemetry, visibly, and telemetry runs without them.

Kinds (``topics.BATTERY_TELEMETRY``, ``topics.BATTERY_ACK``) and their handlers' contracts:

- ``battery_telemetry``: ``handler(batch, *, redeliveries) -> (stored, errors)`` with ``batch`` a
  list of ``(identifier, payload, received_at)``, ``redeliveries(positions) -> set`` and
  ``errors`` a list of ``(position, exception)``;
- ``battery_ack``: ``handler(identifier, payload, received_at)``, raising for a payload it
  cannot use.
"""

from collections.abc import Callable

_handlers: dict[str, Callable] = {}


def register_topic_handler(kind: str, handler: Callable) -> None:
    _handlers[kind] = handler


def topic_handler(kind: str) -> Callable | None:
    return _handlers.get(kind)


def handled_kinds() -> set[str]:
    return set(_handlers)
