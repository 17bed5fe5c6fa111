import asyncio
import contextlib

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from . import live, selectors


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """The portal's live channel: server-to-browser events for what the user may see."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = await self._groups_for(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await live.watch(self.groups_joined)
        self.watching = asyncio.ensure_future(self._keep_watching())
        await self.accept()
        await self.send_json({"kind": "hello", "data": {"groups": len(self.groups_joined)}})

    async def _keep_watching(self) -> None:
        """Renew the watch marks well before they expire, for as long as the socket is open."""
        while True:
            await asyncio.sleep(settings.LIVE_WATCH_SECONDS / 3)
            await live.watch(self.groups_joined)

    async def disconnect(self, code: int) -> None:
        if watching := getattr(self, "watching", None):
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if content == {"kind": "ping"}:
            await self.send_json({"kind": "pong", "data": {}})

    async def live_event(self, event: dict) -> None:
        await self.send_json({"kind": event["kind"], "data": event["data"]})

    @database_sync_to_async
    def _groups_for(self, user) -> list[str]:
        if user.is_staff:
            return [live.STAFF_GROUP]
        account_ids = selectors.accounts_for_user(user=user).values_list("id", flat=True)
        return [live.account_group(account_id) for account_id in account_ids]
