"""What one process holding charger sockets shares between its consumers (one per event loop:
daphne has one loop; each test has its own).

- ``handshake_slots``: at most CHARGING_HANDSHAKE_CONCURRENCY handshakes do their database work
  at once. After an outage the whole fleet reconnects within seconds; the rest wait their turn
  instead of all queueing in the thread pool (where a handshake whose socket is gone would still
  be served, and live sockets' messages would wait behind them).
- ``Node``: while the process holds sockets it writes that it is alive (``ChargingNode``) and
  releases the chargers of nodes that stopped doing so (killed without closing their sockets).
"""

import asyncio
import contextlib
import logging
import weakref

from django.conf import settings

from . import services
from .db import db_call

log = logging.getLogger(__name__)


class Node:
    def __init__(self):
        self.name = ""
        self.sockets = 0
        self.beat: asyncio.Task | None = None
        self.slots = asyncio.Semaphore(settings.CHARGING_HANDSHAKE_CONCURRENCY)

    def hold(self, channel_name: str) -> None:
        """A socket of this node was opened (``channel_name`` is its consumer's)."""
        self.name = services.node_of(channel_name)
        self.sockets += 1
        if self.beat is None or self.beat.done():
            self.beat = asyncio.get_running_loop().create_task(self._beat())

    async def release(self) -> None:
        """A socket of this node ended; the last one stops the beat (a node holding nothing
        needs no liveness: nothing can be routed to it)."""
        self.sockets -= 1
        if self.sockets > 0 or self.beat is None:
            return
        beat, self.beat = self.beat, None
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        await db_call(services.charging_node_gone)(name=self.name)

    async def _beat(self) -> None:
        while True:
            try:
                await db_call(services.charging_node_heartbeat)(name=self.name)
            except Exception:  # the database away for a moment must not end the beat
                log.exception("node %s: heartbeat failed", self.name)
            await asyncio.sleep(settings.CHARGING_NODE_HEARTBEAT_SECONDS)


_nodes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Node]" = weakref.WeakKeyDictionary()


def this_node() -> Node:
    loop = asyncio.get_running_loop()
    if loop not in _nodes:
        _nodes[loop] = Node()
    return _nodes[loop]


def handshake_slots() -> asyncio.Semaphore:
    return this_node().slots
