"""What one process holding charger sockets shares between its consumers (one per event loop:
daphne has one loop; each test has its own).

- ``handshake_slots``: at most CHARGING_HANDSHAKE_CONCURRENCY handshakes do their database work
  at once. After an outage the whole fleet reconnects within seconds; the rest wait their turn
  instead of all queueing in the thread pool (where a handshake whose socket is gone would still
  be served, and live sockets' messages would wait behind them).
- ``Node``: while the process holds sockets it writes that it is alive (``ChargingNode``) and
  releases the chargers of nodes that stopped doing so (killed without closing their sockets).
  Under daphne it also ends its consumers itself when the server shuts down (SIGTERM), then
  marks all their chargers disconnected in one statement (not one round trip per socket: a
  node's shutdown delays its fleet's return to the other nodes or its restart). daphne's
  own shutdown hook (``Server.kill_all_applications``, daphne 4.2) raises KeyError when any
  connection has no application yet (an HTTP request still being read; the HTTP half of a
  websocket upgrade until its 1-s reaper runs) and then cancels nothing, so the sockets were
  dropped without a close frame and their chargers left marked connected.
"""

import asyncio
import contextlib
import gc
import logging
import sys
import weakref

from django.conf import settings

from . import services
from .db import db_call
from .frame_log import frame_log

log = logging.getLogger(__name__)


class Node:
    def __init__(self):
        self.name = ""
        self.sockets = 0
        self.beat: asyncio.Task | None = None
        self.slots = asyncio.Semaphore(settings.CHARGING_HANDSHAKE_CONCURRENCY)
        self.consumers: set[asyncio.Task] = set()
        self.shutdown_hooked = False
        self.closing = False  # shutting down: the node releases its chargers all at once

    def hold(self, channel_name: str) -> None:
        """A socket of this node was opened (``channel_name`` is its consumer's, which runs as
        the current task)."""
        self.name = services.node_of(channel_name)
        self.sockets += 1
        consumer = asyncio.current_task()
        if consumer is not None:
            self.consumers.add(consumer)
            consumer.add_done_callback(self.consumers.discard)
        if self.beat is None or self.beat.done():
            self.beat = asyncio.get_running_loop().create_task(self._beat())
        if not self.shutdown_hooked:
            self.shutdown_hooked = _on_server_shutdown(self._end_consumers)
            if self.shutdown_hooked:
                # Under daphne, once: what startup loaded (Django, the app's modules) lives as
                # long as the process; frozen, the collector stops re-scanning it at every full
                # collection, which otherwise lands on whichever message is in flight.
                gc.freeze()

    def _end_consumers(self) -> asyncio.Future:
        """Cancel every consumer, as daphne means to: each closes with 4001 (going away); then
        their chargers are marked disconnected in one statement. The server waits for it all."""
        self.closing = True
        consumers = list(self.consumers)
        for consumer in consumers:
            consumer.cancel()

        async def release_all():
            await asyncio.gather(*consumers, return_exceptions=True)
            await frame_log().flush()
            if self.name:
                await db_call(services.charging_node_release)(name=self.name)

        return asyncio.ensure_future(release_all())

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


def _on_server_shutdown(hook) -> bool:
    """Run ``hook`` (returning a future) before a running Twisted reactor - daphne's - shuts
    down, and have the shutdown wait for it. False when not under daphne (tests' loops)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or not getattr(reactor, "running", False):
        return False
    from twisted.internet import defer

    reactor.addSystemEventTrigger("before", "shutdown", lambda: defer.Deferred.fromFuture(hook()))
    return True


_nodes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Node]" = weakref.WeakKeyDictionary()


def this_node() -> Node:
    loop = asyncio.get_running_loop()
    if loop not in _nodes:
        _nodes[loop] = Node()
    return _nodes[loop]


def handshake_slots() -> asyncio.Semaphore:
    return this_node().slots
