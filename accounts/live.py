"""Live updates to the portal: services push events after commit; browsers receive them on
``/ws/live/``.

Every customer's socket joins one group per account it may see; staff sockets join the staff group.
Push only from ``transaction.on_commit`` (``push_on_commit`` does that), so a browser never sees
data that was rolled back.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

STAFF_GROUP = "live.staff"


def account_group(account_id: int) -> str:
    return f"live.account.{account_id}"


def push(*, account_id: int | None, kind: str, data: dict) -> None:
    """Send ``{"kind": ..., "data": ...}`` to the account's sockets and to staff's."""
    layer = get_channel_layer()
    message = {"type": "live.event", "kind": kind, "data": data}
    groups = [STAFF_GROUP] + ([account_group(account_id)] if account_id is not None else [])
    for group in groups:
        async_to_sync(layer.group_send)(group, message)


def push_on_commit(*, account_id: int | None, kind: str, data: dict) -> None:
    transaction.on_commit(lambda: push(account_id=account_id, kind=kind, data=data))
