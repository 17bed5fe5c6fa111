"""Security profile 2 (TLS with HTTP Basic) for both OCPP versions: daphne started from the
Procfile's own web line with a certificate from a throw-away CA (trustme), chargers connecting
over wss:// and checking the server's certificate against that CA."""

import asyncio
import base64
import json
import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
import trustme
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.servers import ROOT, Daphne, free_port

from .conftest import daphne_env
from .factories import CHARGER_PASSWORD, ChargerFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
db = database_sync_to_async


def _procfile_web_flags(env: dict[str, str]) -> list[str]:
    """The Procfile's web command as the shell expands it in ``env``, without ``daphne``."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    command = line.removeprefix("web:").strip().replace("daphne", "echo", 1)
    out = subprocess.run(  # noqa: S603 - the repository's own Procfile
        ["/bin/sh", "-c", command],
        env={"PATH": os.environ["PATH"]} | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return shlex.split(out.stdout)


class ProcfileDaphne(Daphne):
    """A daphne started with the Procfile's flags (plain HTTP on ``port`` for /healthz)."""

    def __init__(self, env: dict[str, str], flags: list[str], port: int):
        super().__init__(env)
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        self._flags = flags

    def start(self) -> "ProcfileDaphne":
        self.process = subprocess.Popen(  # noqa: S603 - our own daphne
            [sys.executable, "-m", "daphne", *self._flags],
            cwd=ROOT,
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)  # noqa: S310
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"daphne did not start: {self._stderr_tail()}") from None
                time.sleep(0.1)


@pytest.fixture
def tls_daphne(tmp_path):
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    port, tls_port = free_port(), free_port()
    flags = _procfile_web_flags(
        {
            "PORT": str(port),
            "OCPP_TLS_CERT": str(cert),
            "OCPP_TLS_KEY": str(key),
            "OCPP_TLS_PORT": str(tls_port),
        }
    )
    assert f"ssl:{tls_port}:privateKey={key}:certKey={cert}" in flags
    daphne = ProcfileDaphne(daphne_env(), flags, port).start()
    client = ssl.create_default_context()
    ca.configure_trust(client)
    yield f"wss://127.0.0.1:{tls_port}/ocpp", client
    daphne.stop()


def test_the_procfile_serves_no_tls_without_a_certificate():
    assert not any(flag.startswith("ssl:") for flag in _procfile_web_flags({}))


def _basic(charge_point_id: str, password: str) -> dict:
    token = base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


BOOTS = {
    "ocpp1.6": {"chargePointVendor": "V", "chargePointModel": "M"},
    "ocpp2.0.1": {"chargingStation": {"vendorName": "V", "model": "M"}, "reason": "PowerUp"},
}


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_a_charger_boots_over_tls_with_its_password(tls_daphne, subprotocol):
    url, client = tls_daphne
    charger = await db(ChargerFactory)()
    async with connect(
        f"{url}/{charger.charge_point_id}",
        ssl=client,
        subprotocols=[subprotocol],
        additional_headers=_basic(charger.charge_point_id, CHARGER_PASSWORD),
    ) as socket_:
        assert socket_.subprotocol == subprotocol
        await socket_.send(json.dumps([2, "b", "BootNotification", BOOTS[subprotocol]]))
        answer = json.loads(await asyncio.wait_for(socket_.recv(), 10))
    assert answer[0] == 3 and answer[2]["status"] == "Accepted"


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_a_wrong_password_is_refused_over_tls(tls_daphne, subprotocol):
    url, client = tls_daphne
    charger = await db(ChargerFactory)()
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            f"{url}/{charger.charge_point_id}",
            ssl=client,
            subprotocols=[subprotocol],
            additional_headers=_basic(charger.charge_point_id, "not-the-key-at-all"),
        )
    assert refused.value.response.status_code == 403


async def test_a_charger_that_does_not_trust_the_certificate_cannot_connect(tls_daphne):
    url, _ = tls_daphne
    charger = await db(ChargerFactory)()
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(
            f"{url}/{charger.charge_point_id}",
            ssl=ssl.create_default_context(),
            subprotocols=["ocpp2.0.1"],
            additional_headers=_basic(charger.charge_point_id, CHARGER_PASSWORD),
        )
