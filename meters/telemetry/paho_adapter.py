"""paho's client with buffered socket reads: the one place the ingest relies on paho's private
parts (``Client._create_socket``, and ``pending()`` on the socket, which paho's loop asks of
TLS sockets). ``tests/test_paho_adapter.py`` pins what is relied on.

paho reads every packet with at least three ``recv`` calls (the command byte, each byte of the
remaining length, then the rest) and runs its whole loop (``select``, keepalive checks) for
each packet: draining a backlog of small PUBLISH packets, the network thread spent most of its
time in system calls and loop bookkeeping (bench/README.md, "MQTT ingest"). Here the socket is
read up to READ_SIZE bytes a call and paho is handed the bytes it asks for from that buffer;
``pending()`` counts what is buffered, so paho's loop does not wait in ``select`` while whole
packets are already in hand, and ``loop_read`` goes on reading packets while any are buffered.

``ack_many`` acknowledges a committed batch's QoS 1 messages as one write (the PUBACK packets
that ``ack`` would queue one by one, each with a wake-up of the network thread and a ``send`` of
its own): the same packets, in the same order, at the same moment.

Nothing changes in what is acknowledged or when: this only changes how bytes come off and go
onto the socket, not which packets are handled or sent, nor in what order.
"""

import struct

import paho.mqtt.client as mqtt
from paho.mqtt.client import PUBACK

# One system call drains this much of a backlog (about 300 SENSOR messages of ~200 bytes).
READ_SIZE = 64 * 1024
# loop_read handles at most this many buffered packets before paho's loop runs again (writes,
# keepalive): a bound, so a fast broker cannot starve the acknowledgements.
MAX_PACKETS_A_READ = 1000


class BufferedSocket:
    """A connected socket (plain or TLS) read READ_SIZE bytes at a time; everything but
    ``recv`` and ``pending`` is the socket's own."""

    def __init__(self, sock):
        self._sock = sock
        self._buffer = b""
        self._position = 0

    def recv(self, size: int) -> bytes:
        if self._position >= len(self._buffer):
            # Raises as the socket does when nothing is there (BlockingIOError, SSLWantReadError)
            # and returns b"" at end of stream: paho handles both as before.
            data = self._sock.recv(max(size, READ_SIZE))
            if len(data) <= size:
                return data
            self._buffer, self._position = data, 0
        end = self._position + size
        chunk = self._buffer[self._position : end]
        self._position = end
        if end >= len(self._buffer):
            self._buffer, self._position = b"", 0
        return chunk

    def pending(self) -> int:
        """Bytes readable without waiting: this buffer's and the TLS layer's."""
        buffered = len(self._buffer) - self._position
        inner = getattr(self._sock, "pending", None)
        return buffered + (inner() if inner else 0)

    def fileno(self) -> int:
        return self._sock.fileno()

    def __getattr__(self, name):
        return getattr(self._sock, name)


class Client(mqtt.Client):
    """paho's Client, reading through a BufferedSocket (not over websockets, whose wrapper
    frames its own reads)."""

    def _create_socket(self):
        sock = super()._create_socket()
        if self._transport == "websockets":
            return sock
        return BufferedSocket(sock)

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        handled = 1
        while (
            rc == mqtt.MQTT_ERR_SUCCESS
            and handled < MAX_PACKETS_A_READ
            and isinstance(self._sock, BufferedSocket)
            and self._sock.pending() > 0
        ):
            rc = super().loop_read(max_packets)
            handled += 1
        return rc

    def ack_many(self, mids: list[int], qos: int) -> mqtt.MQTTErrorCode:
        """Acknowledge messages received with ``qos`` (manual acknowledgement), as ``ack`` would
        one by one; QoS 1 acknowledgements go out as one write."""
        if not self._manual_ack or qos != 1 or not mids:
            for mid in mids:
                self.ack(mid, qos)
            return mqtt.MQTT_ERR_SUCCESS
        packets = b"".join([struct.pack("!BBH", PUBACK, 2, mid) for mid in mids])
        return self._packet_queue(PUBACK, packets, 0, 1)
