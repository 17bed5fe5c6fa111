"""Live updates to the portal: services push events after commit; browsers receive them on
``/ws/live/``.

Every customer's socket joins one group per account it may see; staff sockets join the staff group.
Push only from ``transaction.on_commit`` (``push_on_commit`` does that), so a browser never sees
data that was rolled back.
"""

import asyncio
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

STAFF_GROUP = "live.staff"
_SENDS_AT_ONCE = 20


def account_group(account_id: int) -> str:
    return f"live.account.{account_id}"


def push(*, account_id: int | None, kind: str, data: dict) -> None:
    """Send ``{"kind": ..., "data": ...}`` to the account's sockets and to staff's."""
    push_many([(account_id, kind, data)])


def push_many(events: Iterable[tuple[int | None, str, dict]]) -> None:
    """Send many ``(account_id, kind, data)`` events in one trip into the channel layer: an ingest
    batch pushes hundreds, and entering the event loop once per event would cost more than the
    batch's database work."""
    layer = get_channel_layer()

    async def send_all() -> None:
        sends = []
        for account_id, kind, data in events:
            message = {"type": "live.event", "kind": kind, "data": data}
            sends.append(layer.group_send(STAFF_GROUP, message))
            if account_id is not None:
                sends.append(layer.group_send(account_group(account_id), message))
        # Several at a time: each send is a round trip to Redis (one after another, a batch of a
        # thousand meters waits a thousand round trips), within the layer's connection pool.
        for first in range(0, len(sends), _SENDS_AT_ONCE):
            await asyncio.gather(*sends[first : first + _SENDS_AT_ONCE])

    async_to_sync(send_all)()


def push_on_commit(*, account_id: int | None, kind: str, data: dict) -> None:
    transaction.on_commit(lambda: push(account_id=account_id, kind=kind, data=data))
