"""``meters.telemetry.paho_adapter``: paho's client reading through a buffer and acknowledging a
batch in one write. What it relies on of paho's private parts (``_create_socket``, ``pending()``
asked of the socket by the loop, ``_packet_queue``) is pinned here through a real Mosquitto: a
backlog arrives whole and in order, and a batch acknowledged with ``ack_many`` is not redelivered
to the persistent session, while one left unacknowledged is."""

import socket
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from meters.telemetry import paho_adapter

from .conftest import publish_all, wait_until


def packet(payload: bytes) -> bytes:
    return bytes([0x30, len(payload)]) + payload


class TestBufferedSocket:
    @pytest.fixture
    def pair(self):
        left, right = socket.socketpair()
        right.setblocking(False)
        yield left, paho_adapter.BufferedSocket(right)
        left.close()
        right.close()

    def test_it_hands_out_packets_read_in_one_call_as_paho_asks_for_them(self, pair):
        sender, buffered = pair
        sender.sendall(packet(b"first") + packet(b"second!") + packet(b"x" * 100))
        read = []
        for _ in range(3):
            command, length = buffered.recv(1), buffered.recv(1)
            read.append((command, buffered.recv(length[0])))
        assert read == [(b"\x30", b"first"), (b"\x30", b"second!"), (b"\x30", b"x" * 100)]
        assert buffered.pending() == 0
        with pytest.raises(BlockingIOError):
            buffered.recv(1)

    def test_it_counts_buffered_bytes_as_pending_and_returns_short_reads(self, pair):
        sender, buffered = pair
        sender.sendall(packet(b"whole") + b"\x30\x0a" + b"half")
        assert buffered.recv(2) == b"\x30\x05"
        assert buffered.pending() == 5 + 2 + 4
        assert buffered.recv(5) == b"whole"
        assert buffered.recv(1) + buffered.recv(1) == b"\x30\x0a"
        assert buffered.recv(10) == b"half"  # what there is: paho keeps its place and waits
        assert buffered.pending() == 0
        with pytest.raises(BlockingIOError):
            buffered.recv(6)
        sender.sendall(b"-rest-")
        assert buffered.recv(6) == b"-rest-"

    def test_it_reports_the_end_of_the_stream_as_the_socket_does(self, pair):
        sender, buffered = pair
        sender.sendall(packet(b"last"))
        sender.shutdown(socket.SHUT_WR)
        assert buffered.recv(2) == b"\x30\x04"
        assert buffered.recv(4) == b"last"
        assert buffered.recv(1) == b""

    def test_it_is_the_socket_for_everything_else(self, pair):
        _, buffered = pair
        assert buffered.fileno() == buffered._sock.fileno()
        assert buffered.getblocking() is False


def session_client(broker, client_id: str, received: list, clean: bool) -> paho_adapter.Client:
    client = paho_adapter.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    broker.secure(client)
    subscribed = threading.Event()
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = lambda c, u, message: received.append((message.mid, message.payload))
    client.on_connect = lambda c, u, flags, code, p: c.subscribe(f"{client_id}/#", qos=1)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 300
    properties.ReceiveMaximum = 5000
    client.connect(broker.host, broker.port, clean_start=clean, properties=properties, keepalive=30)
    client.loop_start()
    assert subscribed.wait(10), "not subscribed"
    return client


def stop(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def test_a_backlog_arrives_whole_and_in_order_and_acknowledged_batches_stay_acknowledged(
    bulk_broker,
):
    ident = f"adapter-{uuid.uuid4().hex[:8]}"
    received: list = []
    client = session_client(bulk_broker, ident, received, clean=True)
    assert isinstance(client.socket(), paho_adapter.BufferedSocket)
    stop(client)
    publish_all(bulk_broker, [(f"{ident}/n", f"{n:05d}".encode() * 20) for n in range(3000)])

    client = session_client(bulk_broker, ident, received, clean=False)
    wait_until(lambda: len(received) >= 3000, 60, "the backlog")
    assert [payload for _, payload in received] == [f"{n:05d}".encode() * 20 for n in range(3000)]
    acknowledged = received[:2000]
    client.ack_many([mid for mid, _ in acknowledged], 1)
    # The broker answers a SUBSCRIBE after handling what came before it on the connection: once
    # it has, the acknowledgements are in (a DISCONNECT straight after them may lose some).
    barrier = threading.Event()
    client.on_subscribe = lambda *args: barrier.set()
    client.subscribe(f"{ident}-barrier", qos=1)
    assert barrier.wait(10)
    stop(client)

    redelivered: list = []
    client = session_client(bulk_broker, ident, redelivered, clean=False)
    publish_all(bulk_broker, [(f"{ident}/n", b"sentinel")])
    wait_until(lambda: redelivered and redelivered[-1][1] == b"sentinel", 30, "the sentinel")
    stop(client)
    assert [payload for _, payload in redelivered] == [
        payload for _, payload in received[2000:]
    ] + [b"sentinel"]
