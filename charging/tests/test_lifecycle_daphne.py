"""Every way a charger's connection ends, on a real daphne over a real socket: the Channels
communicator never runs autobahn, which sends only close codes 1000 and 3000-4999 and turns any
other into a crashed consumer. Chargers are played with the ``websockets`` client and raw
OCPP-J frames; commands are issued from this process through the Redis channel layer.

One daphne serves the module; the node-loss tests start their own (they stop or kill them)."""

import asyncio
import contextlib
import json

import pytest
from django.test import override_settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from charging import services, tasks
from charging.models import Charger, ChargerCommand, ChargingNode, CommandStatus
from tests.servers import Daphne

from .conftest import basic, daphne_env, db, eventually
from .factories import CHARGER_PASSWORD, ChargerFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# What daphne writes when a consumer crashed, leaked a task or outlived its socket.
CRASH_MARKERS = (
    "Traceback",
    "Exception inside application",
    "Task was destroyed but it is pending",
    "took too long to shut down",
)
# daphne's application_close_timeout (10 s) and its reaper's period (1 s), with a margin.
REAPED_AFTER = 12


@pytest.fixture(scope="module")
def node(django_db_setup):
    with Daphne(daphne_env()) as server:
        yield server


def assert_no_crash(server: Daphne, since: int = 0) -> None:
    log = server.stderr_text()[since:]
    for marker in CRASH_MARKERS:
        assert marker not in log, log[-4000:]


async def _connect(
    server: Daphne,
    charge_point_id: str,
    *,
    user: str | None = None,
    password: str | None = CHARGER_PASSWORD,
    subprotocols: tuple[str, ...] = ("ocpp1.6",),
):
    headers = {}
    if password is not None:
        headers["Authorization"] = basic(user or charge_point_id, password)[1].decode()
    return await connect(
        f"{server.ws_url}/ocpp/{charge_point_id}",
        subprotocols=list(subprotocols) or None,
        additional_headers=headers,
        open_timeout=30,
    )


async def _boot(socket_) -> None:
    payload = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox 7"}
    await socket_.send(json.dumps([2, "boot", "BootNotification", payload]))
    answer = json.loads(await asyncio.wait_for(socket_.recv(), timeout=15))
    assert answer[:2] == [3, "boot"] and answer[2]["status"] == "Accepted", answer


async def _connected(server: Daphne, charger):
    socket_ = await _connect(server, charger.charge_point_id)
    await _boot(socket_)
    return socket_


async def _close_code(socket_) -> int | None:
    """Read until the server closes; the code it closed with (1006: no close frame)."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(socket_.recv(), timeout=20)
    return socket_.close_code


async def _row(charger, *, connected: bool, timeout: float = 15) -> Charger:
    return await eventually(
        lambda: Charger.objects.get(pk=charger.pk),
        lambda row: row.connected == connected,
        timeout=timeout,
    )


async def test_it_closes_with_4002_when_no_ocpp16_subprotocol_is_offered(node):
    since = len(node.stderr_text())
    charger = await db(ChargerFactory)()
    socket_ = await _connect(node, charger.charge_point_id, subprotocols=())
    assert socket_.subprotocol is None
    assert await _close_code(socket_) == 4002
    assert not (await db(Charger.objects.get)(pk=charger.pk)).connected
    assert_no_crash(node, since)


async def test_it_closes_with_4003_on_a_binary_frame_and_marks_the_charger_disconnected(node):
    since = len(node.stderr_text())
    charger = await db(ChargerFactory)()
    socket_ = await _connected(node, charger)
    assert (await _row(charger, connected=True)).connected
    await socket_.send(b"\x00\x01binary")
    assert await _close_code(socket_) == 4003
    assert not (await _row(charger, connected=False)).connected
    assert_no_crash(node, since)


async def test_it_closes_with_4009_on_an_oversize_frame_and_marks_the_charger_disconnected(node):
    since = len(node.stderr_text())
    charger = await db(ChargerFactory)()
    socket_ = await _connected(node, charger)
    oversize = [2, "big", "DataTransfer", {"vendorId": "com.acme", "data": "x" * 70_000}]
    await socket_.send(json.dumps(oversize))
    assert await _close_code(socket_) == 4009
    assert not (await _row(charger, connected=False)).connected
    assert_no_crash(node, since)


async def test_it_marks_a_dropped_tcp_connection_disconnected_and_its_commands_offline(
    node,
):
    since = len(node.stderr_text())
    charger = await db(ChargerFactory)()
    socket_ = await _connected(node, charger)
    await _row(charger, connected=True)
    unanswered = await db(services.command_create)(
        charger=charger, operation="Reset", payload={"type": "Soft"}
    )
    call = json.loads(await asyncio.wait_for(socket_.recv(), timeout=15))
    assert call[0] == 2 and call[2] == "Reset"

    socket_.transport.abort()  # no close frame: a cable pulled, a modem gone

    assert not (await _row(charger, connected=False)).connected
    outcome = await eventually(
        lambda: ChargerCommand.objects.get(pk=unanswered.pk),
        lambda command: command.status != CommandStatus.PENDING,
    )
    assert outcome.status == CommandStatus.OFFLINE, "the command in flight ends offline"
    row = await db(Charger.objects.get)(pk=charger.pk)
    later = await db(services.command_create)(
        charger=row, operation="Reset", payload={"type": "Soft"}
    )
    assert later.status == CommandStatus.OFFLINE, "not sent into a dead channel to time out"
    assert_no_crash(node, since)


async def test_it_refuses_bad_credentials_with_http_403_and_leaves_nothing_running(node):
    since = len(node.stderr_text())
    charger = await db(ChargerFactory)()
    cp = charger.charge_point_id
    refusals = [
        {"password": "a-wrong-key-of-20-ch"},
        {"user": "SOMEONE-ELSE"},
        {"password": None},
        {"user": "NOBODY"},
    ]
    for refusal in refusals:
        target = "NOBODY" if refusal.get("user") == "NOBODY" else cp
        with pytest.raises(InvalidStatus) as refused:
            await _connect(node, target, **refusal)
        assert refused.value.response.status_code == 403, refusal
    assert not (await db(Charger.objects.get)(pk=charger.pk)).connected
    # A consumer still running after its socket went is reported (and killed) by daphne only
    # once its application_close_timeout has passed.
    deadline = asyncio.get_running_loop().time() + REAPED_AFTER
    while asyncio.get_running_loop().time() < deadline:
        assert_no_crash(node, since)
        await asyncio.sleep(0.5)
    assert_no_crash(node, since)


async def test_it_hands_chargers_over_when_daphne_is_terminated(start_daphne):
    leaving, staying = start_daphne(), start_daphne()
    chargers = [await db(ChargerFactory)() for _ in range(3)]
    sockets = [await _connected(leaving, charger) for charger in chargers]
    for charger in chargers:
        await _row(charger, connected=True)

    # An HTTP request still being read (a connection without an application yet): daphne's own
    # shutdown hook fails on it, whatever else is connected.
    _, half_request = await asyncio.open_connection("127.0.0.1", leaving.port)
    half_request.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    await half_request.drain()
    await asyncio.sleep(0.5)

    await asyncio.to_thread(leaving.stop)  # SIGTERM
    half_request.close()

    assert leaving.process.returncode == 0, "it stopped by itself, not killed after 10 s"
    assert [await _close_code(socket_) for socket_ in sockets] == [4001] * len(chargers)
    for charger in chargers:
        row = await db(Charger.objects.get)(pk=charger.pk)
        assert not row.connected and row.channel_name == ""
    assert not await db(ChargingNode.objects.exists)(), "the node said it is gone"
    back = [await _connected(staying, charger) for charger in chargers]
    for charger in chargers:
        assert (await _row(charger, connected=True)).connected
    for socket_ in back:
        await socket_.close()
    assert_no_crash(leaving)
    assert_no_crash(staying)


async def test_another_node_releases_the_chargers_of_a_killed_daphne(start_daphne):
    fast_beat = {"CHARGING_NODE_HEARTBEAT_SECONDS": "0.5", "CHARGING_NODE_TTL": "3"}
    killed, survivor = start_daphne(**fast_beat), start_daphne(**fast_beat)
    orphans = [await db(ChargerFactory)() for _ in range(2)]
    sockets = [await _connected(killed, charger) for charger in orphans]
    # The survivor beats only while it holds a socket.
    survivor_socket = await _connected(survivor, await db(ChargerFactory)())
    for charger in orphans:
        await _row(charger, connected=True)

    killed.kill()

    assert [await _close_code(socket_) for socket_ in sockets] == [1006] * len(orphans)
    for charger in orphans:
        assert not (await _row(charger, connected=False, timeout=30)).connected
    await survivor_socket.close()
    assert_no_crash(survivor)


async def test_the_offline_beat_releases_the_chargers_of_a_killed_daphne(start_daphne):
    killed = start_daphne(CHARGING_NODE_HEARTBEAT_SECONDS="0.5")
    charger = await db(ChargerFactory)()
    socket_ = await _connected(killed, charger)
    await eventually(ChargingNode.objects.exists, bool)
    await _row(charger, connected=True)

    killed.kill()

    assert await _close_code(socket_) == 1006
    still = await db(Charger.objects.get)(pk=charger.pk)
    assert still.connected, "nothing ran on the killed node: only the beat can release it"
    with override_settings(CHARGING_NODE_TTL=3):
        released = await eventually(
            tasks.chargers_mark_offline, lambda count: count > 0, timeout=30
        )
    assert released == 1
    row = await db(Charger.objects.get)(pk=charger.pk)
    assert not row.connected and row.channel_name == ""
