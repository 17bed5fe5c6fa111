"""Fixtures for end-to-end tests: the ingest command as a real process against real Mosquitto and
the test database, with topic roots and client ids unique to each test."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.db import connection

from meters.telemetry import supervision
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[3]


def wait_until(predicate, timeout: float = 30, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Broker:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def publisher(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-pub-{uuid.uuid4().hex[:8]}",
        )
        client.max_inflight_messages_set(1000)
        self.secure(client)
        client.connect(self.host, self.port)
        client.loop_start()
        return client

    def secure(self, client: mqtt.Client) -> None:
        """TLS and credentials a broker asks of its clients (none here)."""


def publish_all(broker: Broker, messages: list[tuple[str, bytes | str]], retain=False) -> None:
    """Publish with QoS 1 and wait until the broker has every one."""
    client = broker.publisher()
    try:
        infos = [
            client.publish(topic, payload, qos=1, retain=retain) for topic, payload in messages
        ]
        for info in infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def broker() -> Broker:
    """The Mosquitto on this machine (127.0.0.1:1883 unless MQTT_URL says otherwise)."""
    from urllib.parse import urlparse

    url = urlparse(settings.MQTT_URL)
    return Broker(url.hostname or "127.0.0.1", url.port or 1883)


class OwnMosquitto(Broker):
    """A Mosquitto of a test's own on a free port, configured as a production broker for bulk
    telemetry must be: no cap on queued or in-flight messages (the defaults, 1,000 queued and 20
    in flight per client, drop QoS 1 messages for a persistent session that falls behind)."""

    def __init__(self, folder: Path):
        super().__init__("127.0.0.1", free_port())
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_inflight_messages 0\nlog_dest none\n"
        )
        self.process = None

    def _accepting(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex((self.host, self.port)) == 0

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(binary):
            pytest.fail("Mosquitto is not installed (apt-get install mosquitto)")
        self.process = subprocess.Popen([binary, "-c", str(self.config)])  # noqa: S603
        wait_until(self._accepting, 10, "the test broker")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def bulk_broker(tmp_path):
    broker = OwnMosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@dataclass
class Topics:
    tele: str
    batteries: str

    def sensor(self, device: str) -> str:
        return f"{self.tele}/{device}/SENSOR"

    def lwt(self, device: str) -> str:
        return f"{self.tele}/{device}/LWT"


@pytest.fixture
def topics() -> Topics:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    return Topics(tele=f"{prefix}/tele", batteries=f"{prefix}/batteries")


class Ingests:
    """Starts ``manage.py ingest_mqtt`` processes on the test database; stops them at the end."""

    def __init__(self, tmp_path: Path, topics: Topics):
        self.tmp_path = tmp_path
        self.topics = topics
        self.processes: list[subprocess.Popen] = []

    def env(self, broker: Broker, **extra) -> dict:
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
        return (
            os.environ
            | {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": database_url,
                "REDIS_URL": settings.REDIS_URL,
                "MQTT_URL": broker.url,
                "TELEMETRY_TOPIC_ROOT": self.topics.tele,
                "BATTERIES_MQTT_TOPIC_ROOT": self.topics.batteries,
                "TELEMETRY_HEARTBEAT_SECONDS": "1",
                "PYTHONUNBUFFERED": "1",
            }
            | {key: str(value) for key, value in extra.items()}
        )

    def start(
        self, broker: Broker, client_id: str, *args: str, wait: bool = True, **env
    ) -> subprocess.Popen:
        """Start a process; unless ``wait`` is false, wait until it has subscribed (a process
        that resumes a session straight into a blocked batch never says so: it heartbeats
        between batches)."""
        log = open(self.tmp_path / f"{client_id}-{len(self.processes)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(  # noqa: S603 - this checkout's manage.py
            [sys.executable, "manage.py", "ingest_mqtt", "--client-id", client_id, *args],
            cwd=ROOT,
            env=self.env(broker, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        if not wait:
            return process
        wait_until(
            lambda: process.poll() is not None or self.subscribed(client_id, process.pid),
            60,
            f"ingest {client_id} to subscribe",
        )
        assert process.poll() is None, self.log(client_id)
        return process

    @staticmethod
    def subscribed(client_id: str, pid: int) -> bool:
        from django.core.cache import cache

        beat = cache.get(supervision.HEARTBEAT_KEY.format(client_id=client_id)) or {}
        return beat.get("pid") == pid and beat.get("subscribed")

    def log(self, client_id: str) -> str:
        return "\n".join(p.read_text() for p in self.tmp_path.glob(f"{client_id}-*.log"))

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def ingests(tmp_path, topics):
    runner = Ingests(tmp_path, topics)
    yield runner
    runner.stop_all()
