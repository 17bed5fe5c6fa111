"""Live updates to the portal: services push events after commit; browsers receive them on
``/ws/live/``.

Every customer's socket joins one group per account it may see; staff sockets join the staff group.
Push only from ``transaction.on_commit`` (``push_on_commit`` does that), so a browser never sees
data that was rolled back.

Only *watched* groups are sent to: an open socket marks its groups in the cache and keeps the mark
fresh (``watch``), and a push reads the marks in one trip. An ingest batch of a thousand meters
whose customers have no portal open then costs one cache read instead of two thousand sends. A
mark outlives its last socket by at most ``LIVE_WATCH_SECONDS``, so nothing is lost while a
browser reconnects.
"""

import asyncio
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

STAFF_GROUP = "live.staff"
_SENDS_AT_ONCE = 20


def account_group(account_id: int) -> str:
    return f"live.account.{account_id}"


def socket_url(request) -> str | None:
    """Where a page listens for live events, or None under WSGI (no websockets): poll then."""
    from django.core.handlers.asgi import ASGIRequest

    return "/ws/live/" if isinstance(request, ASGIRequest) else None


def reaches_every_process() -> bool:
    """Whether an event pushed by any process (the MQTT ingest, a worker) reaches the web
    process's sockets: not with the embedded demo's in-memory channel layer, where only what
    happens inside the web process itself (chargers, API writes) arrives, so pages also poll."""
    return not settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer")


def _watch_key(group: str) -> str:
    return f"live:watched:{group}"


async def watch(groups: Iterable[str]) -> None:
    """Mark ``groups`` as having an open socket for the next LIVE_WATCH_SECONDS."""
    marks = dict.fromkeys(map(_watch_key, groups), 1)
    if marks:
        await cache.aset_many(marks, timeout=settings.LIVE_WATCH_SECONDS)


def watched(groups: Iterable[str]) -> set[str]:
    """Those of ``groups`` with an open socket (one cache read)."""
    keys = {_watch_key(group): group for group in groups}
    return {keys[key] for key in cache.get_many(list(keys))}


def with_audience(account_ids: Iterable[int | None]) -> set[int | None]:
    """Those of ``account_ids`` whose events some open socket would receive (all of them while a
    staff socket is open): lets a caller skip preparing events nobody sees."""
    account_ids = set(account_ids)
    groups = watched({STAFF_GROUP} | {account_group(a) for a in account_ids if a is not None})
    if STAFF_GROUP in groups:
        return account_ids
    return {a for a in account_ids if a is not None and account_group(a) in groups}


def push(*, account_id: int | None, kind: str, data: dict) -> None:
    """Send ``{"kind": ..., "data": ...}`` to the account's sockets and to staff's."""
    push_many([(account_id, kind, data)])


def push_many(events: Iterable[tuple[int | None, str, dict]]) -> None:
    """Send many ``(account_id, kind, data)`` events in one trip into the channel layer: an ingest
    batch pushes hundreds, and entering the event loop once per event would cost more than the
    batch's database work."""
    addressed = []
    for account_id, kind, data in events:
        message = {"type": "live.event", "kind": kind, "data": data}
        addressed.append((STAFF_GROUP, message))
        if account_id is not None:
            addressed.append((account_group(account_id), message))
    open_groups = watched({group for group, _ in addressed})
    sends_due = [(group, message) for group, message in addressed if group in open_groups]
    if not sends_due:
        return
    layer = get_channel_layer()

    async def send_all() -> None:
        sends = [layer.group_send(group, message) for group, message in sends_due]
        # Several at a time: each send is a round trip to Redis (one after another, a batch of a
        # thousand meters waits a thousand round trips), within the layer's connection pool.
        for first in range(0, len(sends), _SENDS_AT_ONCE):
            await asyncio.gather(*sends[first : first + _SENDS_AT_ONCE])

    async_to_sync(send_all)()


def push_on_commit(*, account_id: int | None, kind: str, data: dict) -> None:
    transaction.on_commit(lambda: push(account_id=account_id, kind=kind, data=data))
