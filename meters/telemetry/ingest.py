"""The ingest process (``python manage.py ingest_mqtt``): subscribe to the broker and store
telemetry in batches.

No loss, no duplicates: the session is persistent (fixed client id, no clean start) and messages
are acknowledged by hand (paho ``manual_ack``) only after the batch that holds them committed. A
process killed mid-batch gets its unacknowledged messages again on restart; storing them again is
a no-op (unique meter + time). While reception is paused the batch is held, unacknowledged, and
retried until reception resumes; the broker stops sending once its in-flight window is full.

No message can stop it: each batch goes through ``services.messages_store_isolating`` (every
message's failure is its own dead letter; a batch that fails as a whole is bisected to its
culprit), and messages in progress are marked (``meters.telemetry.inflight``) so one that kills
the process outright is stored alone on redelivery and, found in progress at
TELEMETRY_CRASH_LIMIT deaths, dead-lettered as ``crashed_before``.

Scale-out: run several with distinct MQTT_CLIENT_ID and the same MQTT_SHARED_GROUP; each then
subscribes through ``$share/<group>/...`` and the broker gives every message to one of them.
"""

import gc
import logging
import os
import queue
import socket
import ssl
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from config.exceptions import ServiceUnavailable
from config.mqtt import broker_address, client_secure

from . import inflight, paho_adapter, registry, services, supervision, topics
from .services import Message

log = logging.getLogger("meters.telemetry.ingest")

# How long to wait before retrying a held batch (reception paused, database unreachable).
RETRY_SECONDS = 2.0
# Allocations between young-generation collections (Python's default is 700).
GC_THRESHOLD = 20_000


@dataclass(frozen=True)
class Received:
    generation: int
    mid: int
    qos: int
    message: Message


def subscriptions(shared_group: str) -> list[str]:
    return topics.subscriptions(shared_group, battery_kinds=registry.handled_kinds())


class Ingest:
    def __init__(self, *, client_id: str, shared_group: str, batch_size: int, flush_ms: int):
        self.client_id = client_id
        self.topics = subscriptions(shared_group)
        self.batch_size = batch_size
        self.flush_seconds = flush_ms / 1000
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = False
        self.subscribed = False
        # Bumped on every (re)connect: a message from an earlier connection is stored but not
        # acknowledged, because the broker redelivers it on the new one under the same id.
        self.generation = 0
        self.paused = False
        self.totals = {"received": 0, "stored": 0, "duplicates": 0, "rejected": 0, "ignored": 0}
        self.minute: deque[tuple[float, dict]] = deque()
        self.last_message_at = None
        self.last_batch_ms = None
        self.protocol = ""
        self.client: mqtt.Client | None = None

    # --- MQTT ---------------------------------------------------------------------------------

    def _probe(self) -> str | None:
        """ "5" when the broker accepts an MQTT 5 connection, "3.1.1" when it refuses the
        protocol version (e.g. the embedded amqtt), None when it cannot be reached."""
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{self.client_id}-probe",
            protocol=mqtt.MQTTv5,
        )
        client_secure(client)
        answer = {}
        client.on_connect = lambda c, u, f, reason_code, p: answer.setdefault("code", reason_code)
        try:
            client.connect(*broker_address(), keepalive=10)
        except (OSError, ssl.SSLError):
            return None
        deadline = time.monotonic() + 5
        while "code" not in answer and time.monotonic() < deadline:
            if client.loop(timeout=0.2) != mqtt.MQTT_ERR_SUCCESS:
                break
        client.disconnect()
        code = answer.get("code")
        if code is not None and not code.is_failure:
            return "5"
        return "3.1.1"

    def protocol_resolve(self) -> str:
        """MQTT_PROTOCOL, or with "auto" MQTT 5 when the broker speaks it (its Receive Maximum
        lets whole batches be in flight; Mosquitto gives an MQTT 3.1.1 client 20)."""
        if settings.MQTT_PROTOCOL != "auto":
            return settings.MQTT_PROTOCOL
        delay = settings.MQTT_RECONNECT_MIN_SECONDS
        while not self.stopping.is_set():
            protocol = self._probe()
            if protocol:
                return protocol
            log.warning("ingest %s: broker not reachable; retrying in %s s", self.client_id, delay)
            self.heartbeat_maybe()
            self.stopping.wait(delay)
            delay = min(delay * 2, settings.MQTT_RECONNECT_MAX_SECONDS)
        return "3.1.1"

    def _client(self) -> mqtt.Client:
        v5 = self.protocol == "5"
        kwargs = {
            "callback_api_version": mqtt.CallbackAPIVersion.VERSION2,
            "client_id": self.client_id,
            "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            "manual_ack": True,
            "reconnect_on_failure": True,
        }
        if not v5:
            kwargs["clean_session"] = False
        # Buffered reads and one write for a batch's acknowledgements (see paho_adapter).
        client = paho_adapter.Client(**kwargs)
        client_secure(client)
        client.reconnect_delay_set(
            min_delay=settings.MQTT_RECONNECT_MIN_SECONDS,
            max_delay=settings.MQTT_RECONNECT_MAX_SECONDS,
        )
        client.on_connect = self.on_connect
        client.on_disconnect = self.on_disconnect
        client.on_message = self.on_message
        client.on_subscribe = self.on_subscribe
        return client

    def connect(self) -> None:
        self.protocol = self.protocol_resolve()
        self.client = self._client()
        host, port = broker_address()
        extra = {}
        if self.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = settings.MQTT_SESSION_EXPIRY_SECONDS
            properties.ReceiveMaximum = min(settings.TELEMETRY_RECEIVE_MAXIMUM, 65535)
            extra = {"clean_start": False, "properties": properties}
        log.info(
            "ingest %s connecting to %s:%s with MQTT %s", self.client_id, host, port, self.protocol
        )
        self.client.connect_async(host, port, keepalive=settings.MQTT_KEEPALIVE_SECONDS, **extra)
        self.client.loop_start()

    def on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("ingest %s: broker refused the connection: %s", self.client_id, reason_code)
            return
        self.generation += 1
        self.connected = True
        log.info(
            "ingest %s connected (session present: %s); subscribing to %s",
            self.client_id,
            flags.session_present,
            ", ".join(self.topics),
        )
        client.subscribe([(topic, 1) for topic in self.topics])

    def on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.error("ingest %s: subscription refused: %s", self.client_id, failed)
        self.subscribed = not failed

    def on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        self.subscribed = False
        if not self.stopping.is_set():
            log.warning("ingest %s disconnected (%s); reconnecting", self.client_id, reason_code)

    def on_message(self, client, userdata, msg) -> None:
        received = Message(topic=msg.topic, payload=msg.payload, received_at=timezone.now())
        self.inbox.put(Received(self.generation, msg.mid, msg.qos, received))

    # --- Batches ------------------------------------------------------------------------------

    def collect(self, wait: float) -> list[Received]:
        """Up to batch_size messages: waits ``wait`` seconds for the first, then at most the flush
        interval for the rest."""
        try:
            first = self.inbox.get(timeout=wait)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self.inbox.get(timeout=max(remaining, 0))
                    if remaining > 0
                    else self.inbox.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def store(self, batch: list[Received], action=None) -> services.BatchReport | None:
        """Store the batch (``action``: by default ``messages_store_isolating``), retrying while
        reception is paused or the database is unreachable; returns once it committed (or the
        process is stopping, with None). Nothing a message contains gets past the isolating
        store, so only infrastructure errors are seen here."""
        messages = [item.message for item in batch]
        action = action or services.messages_store_isolating
        while True:
            close_old_connections()
            try:
                report = action(messages=messages)
            except ServiceUnavailable as exc:
                if not self.paused:
                    log.warning("ingest %s holds %d messages: %s", self.client_id, len(batch), exc)
                self.paused = True
            except (OperationalError, InterfaceError) as exc:
                log.error("ingest %s: database unavailable (%s); retrying", self.client_id, exc)
            else:
                if self.paused:
                    log.info("ingest %s: reception open again", self.client_id)
                self.paused = False
                return report
            self.heartbeat_maybe()
            if self.stopping.wait(RETRY_SECONDS):
                return None

    def process(self, batch: list[Received]) -> services.BatchReport | None:
        """Store and acknowledge a batch under in-progress marks (see ``inflight``): messages
        found in progress at TELEMETRY_CRASH_LIMIT deaths are dead-lettered unread, others found
        in progress once are stored one by one, the rest together. Returns the batch's report in
        its order, or None when the process is stopping."""
        digests = [services.message_digest(item.message) for item in batch]
        seen = inflight.counts(list(set(digests)))
        limit = inflight.crash_limit()
        crashed = [i for i, digest in enumerate(digests) if seen[digest] >= limit]
        suspects = [i for i, digest in enumerate(digests) if 0 < seen[digest] < limit]
        fresh = [i for i, digest in enumerate(digests) if not seen[digest]]
        outcomes = [""] * len(batch)
        codes: Counter = Counter()
        groups = [(crashed, self._dead_letter_crashed)] if crashed else []
        if suspects:
            log.warning(
                "ingest %s: %d redelivered messages were in progress when a process died; "
                "storing them one by one",
                self.client_id,
                len(suspects),
            )
        groups += [([i], None) for i in suspects]
        groups += [(fresh, None)] if fresh else []
        for indexes, action in groups:
            items = [batch[i] for i in indexes]
            marks = {digests[i]: seen[digests[i]] + 1 for i in indexes}
            if action is None:
                inflight.mark(marks)
            report = self.store(items, action)
            if report is None:
                # Stopping on purpose (a held batch): no message is to blame.
                inflight.clear(marks)
                return None
            self.acknowledge(items)
            inflight.clear(marks)
            for i, outcome in zip(indexes, report.outcomes, strict=True):
                outcomes[i] = outcome
            codes.update(report.codes)
        return services.BatchReport(outcomes=outcomes, codes=codes)

    def _dead_letter_crashed(self, *, messages: list[Message]) -> services.BatchReport:
        log.error(
            "ingest %s: %d messages were in progress at %d process deaths; dead-lettered unread",
            self.client_id,
            len(messages),
            inflight.crash_limit(),
        )
        return services.messages_dead_letter(
            messages=messages,
            code="crashed_before",
            reason=(
                f"In progress when the ingest process died, {inflight.crash_limit()} times; "
                "kept unread so it cannot stop ingest again. Retry it once the cause is fixed."
            ),
        )

    def acknowledge(self, batch: list[Received]) -> None:
        mids: dict[int, list[int]] = {}
        for item in batch:
            if item.qos > 0 and item.generation == self.generation:
                mids.setdefault(item.qos, []).append(item.mid)
        for qos, those in mids.items():
            self.client.ack_many(those, qos)

    def account(self, batch: list[Received], report: services.BatchReport, started: float) -> None:
        counts = {
            "received": len(batch),
            "stored": report.count(services.STORED),
            "duplicates": report.count(services.DUPLICATE),
            "rejected": report.count(services.REJECTED),
            "ignored": report.count(services.IGNORED),
        }
        for key, value in counts.items():
            self.totals[key] += value
        now = time.monotonic()
        self.minute.append((now, counts))
        self.last_message_at = batch[-1].message.received_at
        self.last_batch_ms = round((now - started) * 1000, 1)
        if report.codes:
            log.info(
                "ingest %s: batch of %d, rejected/ignored: %s",
                self.client_id,
                len(batch),
                dict(report.codes),
            )

    # --- Heartbeat ----------------------------------------------------------------------------

    _next_heartbeat = 0.0

    def heartbeat_maybe(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_heartbeat:
            return
        self._next_heartbeat = now + settings.TELEMETRY_HEARTBEAT_SECONDS
        while self.minute and self.minute[0][0] < now - 60:
            self.minute.popleft()
        last_minute = dict.fromkeys(self.totals, 0)
        for _, counts in self.minute:
            for key, value in counts.items():
                last_minute[key] += value
        try:
            supervision.heartbeat_write(
                client_id=self.client_id,
                beat={
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "connected": self.connected,
                    # Its last heartbeat after a SIGTERM: supervision does not miss it.
                    "stopped": self.stopping.is_set(),
                    "connections": self.generation,
                    "protocol": self.protocol,
                    "subscribed": self.subscribed,
                    "topics": self.topics,
                    "paused": self.paused,
                    "last_minute": last_minute,
                    "totals": dict(self.totals),
                    "last_message_at": self.last_message_at.isoformat()
                    if self.last_message_at
                    else None,
                    "last_batch_ms": self.last_batch_ms,
                    "queued": self.inbox.qsize(),
                },
            )
        except Exception:  # the cache being away must not stop ingest
            log.exception("ingest %s: heartbeat not written", self.client_id)

    # --- Main loop ----------------------------------------------------------------------------

    def run(self) -> None:
        self.connect()
        self.heartbeat_maybe(force=True)
        # A batch makes tens of thousands of short-lived objects; with the default thresholds
        # the cycle collector ran many times a batch over everything Django had loaded (about a
        # tenth of the batch's time). Start-up objects are frozen out of its sight.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 20, 20)
        try:
            while not self.stopping.is_set():
                batch = self.collect(wait=min(1.0, settings.TELEMETRY_HEARTBEAT_SECONDS))
                if batch:
                    started = time.monotonic()
                    report = self.process(batch)
                    if report is None:
                        break
                    self.account(batch, report, started)
                self.heartbeat_maybe()
        finally:
            self.connected = False
            self.heartbeat_maybe(force=True)
            if self.client is not None:
                self.client.disconnect()
                self.client.loop_stop()
