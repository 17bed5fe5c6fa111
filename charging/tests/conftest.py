import asyncio
import base64
import contextlib
import itertools
import json
import os

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from charging.routing import websocket_urlpatterns
from tests.servers import Daphne, database_url

from .factories import CHARGER_PASSWORD

_ids = itertools.count(1)


def basic(charge_point_id: str, password: str) -> tuple[bytes, bytes]:
    token = base64.b64encode(f"{charge_point_id}:{password}".encode())
    return (b"authorization", b"Basic " + token)


class Station:
    """A charger played over Channels' WebsocketCommunicator, speaking raw OCPP-J frames."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.ws = communicator

    async def send_raw(self, text: str) -> list:
        await self.ws.send_to(text_data=text)
        return json.loads(await self.ws.receive_from(timeout=5))

    async def call(self, action: str, payload: dict | None = None) -> list:
        unique_id = f"m{next(_ids)}"
        answer = await self.send_raw(json.dumps([2, unique_id, action, payload or {}]))
        assert answer[1] == unique_id
        return answer

    async def conf(self, action: str, payload: dict | None = None) -> dict:
        answer = await self.call(action, payload)
        assert answer[0] == 3, answer
        return answer[2]

    async def boot(self) -> dict:
        return await self.conf(
            "BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "Wallbox 7"}
        )

    async def receive_call(self) -> list:
        return json.loads(await self.ws.receive_from(timeout=5))

    async def answer(self, unique_id: str, payload: dict) -> None:
        await self.ws.send_to(text_data=json.dumps([3, unique_id, payload]))

    async def close(self):
        await self.ws.disconnect()


@pytest.fixture
async def open_station():
    """``await open_station(charger)`` -> a connected Station (booted unless boot=False)."""
    opened = []

    async def _open(
        charger=None,
        *,
        charge_point_id=None,
        password=CHARGER_PASSWORD,
        subprotocols=("ocpp1.6",),
        boot=True,
        expect_connected=True,
    ):
        charge_point_id = charge_point_id or charger.charge_point_id
        headers = [basic(charge_point_id, password)] if password is not None else []
        communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns),
            f"/ocpp/{charge_point_id}",
            headers=headers,
            subprotocols=list(subprotocols),
        )
        connected, subprotocol = await communicator.connect(timeout=5)
        station = Station(communicator)
        station.connected, station.subprotocol = connected, subprotocol
        opened.append(station)
        if connected and expect_connected and boot:
            await station.boot()
        return station

    yield _open
    for station in opened:
        with contextlib.suppress(Exception):  # already closed by the server
            await station.ws.disconnect()


db = database_sync_to_async


async def eventually(read, done, timeout: float = 10):
    """Read (in a thread, from the database) until ``done(result)`` or the timeout: for what
    the server writes after it answered, like the batched frame log."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await db(read)()
        if done(result) or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


def daphne_env(**overrides: str) -> dict[str, str]:
    """The environment of a daphne child process: the test database, this run's Redis (channel
    layer: commands issued here reach its sockets) and a short command timeout."""
    from django.db import connection

    return (
        os.environ
        | {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "CHARGING_COMMAND_TIMEOUT": "10",
        }
        | overrides
    )


@pytest.fixture
def start_daphne():
    """``start_daphne(**env)`` -> a new daphne (``tests.servers.Daphne``) on a free port, with
    ``env`` added to ``daphne_env()``; stopped after the test."""
    servers = []

    def start(**env: str) -> Daphne:
        servers.append(Daphne(daphne_env(**env)).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
