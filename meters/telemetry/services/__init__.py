"""Every write of the telemetry app, one module per concern: ``messages`` (a batch's vocabulary,
verdicts and receipts), ``sensors`` (SENSOR messages to readings), ``store`` (a batch's fate,
``messages_store``), ``devices`` (attachment, online state), ``alerts`` (supervision)."""

from .alerts import alert_raise, alert_resolve, supervision_run
from .devices import device_attach, device_attach_check, device_set_online
from .messages import (
    DUPLICATE,
    IGNORED,
    INFRASTRUCTURE_ERRORS,
    REJECTED,
    STORED,
    BatchReport,
    Message,
    Refused,
    guarded,
    message_digest,
    messages_dead_letter,
    received_messages_prune,
)
from .sensors import SKIP_BOOT_ZERO, sensor_mapped, sensor_message_reading, sensor_reading
from .store import dead_letters_retry, messages_store, messages_store_isolating

__all__ = [
    "DUPLICATE",
    "IGNORED",
    "INFRASTRUCTURE_ERRORS",
    "REJECTED",
    "SKIP_BOOT_ZERO",
    "STORED",
    "BatchReport",
    "Message",
    "Refused",
    "alert_raise",
    "alert_resolve",
    "dead_letters_retry",
    "device_attach",
    "device_attach_check",
    "device_set_online",
    "guarded",
    "message_digest",
    "messages_dead_letter",
    "messages_store",
    "messages_store_isolating",
    "received_messages_prune",
    "sensor_mapped",
    "sensor_message_reading",
    "sensor_reading",
    "supervision_run",
]
