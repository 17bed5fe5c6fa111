"""The ingest process over TLS with a password, against a real Mosquitto that requires both
(certificates from a throw-away CA made by trustme)."""

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import trustme
from django.core.cache import cache
from django.utils import timezone

from meters.models import Reading
from meters.telemetry import supervision

from .conftest import ROOT, OwnMosquitto, wait_until
from .factories import DeviceFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

USER, PASSWORD = "ingest", "s3cret:with@odd/chars"


class TlsMosquitto(OwnMosquitto):
    """A Mosquitto that speaks only TLS, with a certificate for 127.0.0.1, and requires a
    password."""

    def __init__(self, folder: Path, ca: trustme.CA):
        super().__init__(folder)
        self.ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        server = ca.issue_cert("127.0.0.1", "localhost")
        server.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
        server.private_key_pem.write_to_path(str(folder / "server.key"))
        passwords = folder / "passwords"
        passwords.write_text("")
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        subprocess.run([tool, "-b", str(passwords), USER, PASSWORD], check=True)  # noqa: S603
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"certfile {folder / 'server.pem'}\nkeyfile {folder / 'server.key'}\n"
            f"allow_anonymous false\npassword_file {passwords}\n"
            "persistence false\nlog_dest none\n"
        )

    @property
    def url(self) -> str:
        return f"mqtts://{self.host}:{self.port}"

    def secure(self, client: mqtt.Client) -> None:
        client.tls_set(ca_certs=str(self.ca_file))
        client.username_pw_set(USER, PASSWORD)


@pytest.fixture
def tls_broker():
    # Not pytest's tmp_path: Mosquitto started as root reads its password file after switching to
    # its own user, which cannot enter a private (0700) folder.
    folder = Path(tempfile.mkdtemp(prefix="homegrid-tls-"))
    folder.chmod(0o755)
    broker = TlsMosquitto(folder, trustme.CA())
    broker.start()
    yield broker
    broker.stop()
    shutil.rmtree(folder, ignore_errors=True)


def _sensor(broker: TlsMosquitto, topic: str, kwh: float) -> None:
    client = broker.publisher()
    try:
        payload = {"Time": timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")}
        payload["MT681"] = {"Total_in": kwh, "Power_cur": 300}
        info = client.publish(topic, json.dumps(payload), qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def test_it_ingests_over_tls_with_a_password(tls_broker, topics, ingests):
    device = DeviceFactory()
    ident = f"test-ingest-{uuid.uuid4().hex[:8]}"

    ingests.start(
        tls_broker,
        ident,
        MQTT_TLS_CA_CERTS=tls_broker.ca_file,
        MQTT_USERNAME=USER,
        MQTT_PASSWORD=PASSWORD,
    )
    _sensor(tls_broker, topics.sensor(device.topic), 1234.5)

    wait_until(lambda: Reading.objects.filter(meter=device.meter).exists(), 30, "the reading")
    assert Reading.objects.get(meter=device.meter).import_kwh == 1234.5


@pytest.mark.parametrize(
    ("what", "env"),
    [
        ("a certificate from another CA", {"MQTT_USERNAME": USER, "MQTT_PASSWORD": PASSWORD}),
        ("a wrong password", {"MQTT_USERNAME": USER, "MQTT_PASSWORD": "wrong"}),
    ],
)
def test_it_stays_disconnected_and_says_so_when_tls_or_the_password_is_wrong(
    tls_broker, ingests, tmp_path, what, env
):
    if what.startswith("a certificate"):
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        env = env | {"MQTT_TLS_CA_CERTS": other}
    else:
        env = env | {"MQTT_TLS_CA_CERTS": tls_broker.ca_file}
    ident = f"test-ingest-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(  # noqa: S603 - this checkout's manage.py
        [sys.executable, "manage.py", "ingest_mqtt", "--client-id", ident],
        cwd=ROOT,
        env=ingests.env(tls_broker, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ingests.processes.append(process)
    key = supervision.HEARTBEAT_KEY.format(client_id=ident)
    wait_until(lambda: cache.get(key), 60, "the ingest's first heartbeat")

    beats = []
    for _ in range(3):
        time.sleep(1)
        beats.append(cache.get(key))

    assert process.poll() is None  # it keeps retrying, it does not crash
    assert [(beat["connected"], beat["subscribed"]) for beat in beats] == [(False, False)] * 3
