"""The websocket a charger holds: transport only. The subprotocol is negotiated here: a charger
offering ``ocpp2.0.1`` and/or ``ocpp1.6`` gets the first of settings.OCPP_VERSION_PREFERENCE it
offered, stored on its row with the connection. Frames go to the central system of that version
(``ocpp_handlers.CentralSystem`` or ``CentralSystem201``); commands from any process arrive
through the channel layer addressed to this socket's channel.

One owner per charger: the charger row names the channel that holds its socket. A charger that
reconnects (to this daphne or another) takes the row over and tells the stale channel to close.

Every way a consumer ends - the charger closing, a close of ours, a bug, daphne cancelling it
(shutdown, or a socket gone too long) - goes through ``__call__``'s ``finally``: the tasks are
cancelled and awaited, and the charger is marked disconnected if this socket still owns it.
A daphne shutting down (SIGTERM) cancels every consumer through ``node.Node`` (daphne's own hook
for it fails), so each closes with 4001 before the process exits.

Close codes. Before accept a refusal is an HTTP 403 (wrong or missing credentials). After
accept daphne (autobahn) sends only 1000 and 3000-4999, so the WebSocket meanings are given as
application codes 4000 + the RFC 6455 code:

- 4000: replaced by a newer connection of the same charger;
- 4001: the server is shutting down (1001 going away): reconnect, another node will take it;
- 4002: no subprotocol offered that this server speaks (1002; OCPP-J 1.6 section 3.1.2 asks
  the server to finish the handshake without one, then close; OCPP-J 2.0.1 section 3.2 lets it
  refuse - closing after the handshake tells the station why);
- 4003: a binary frame (1003; OCPP-J is text frames only);
- 4009: a frame over CHARGING_MAX_FRAME_BYTES (1009).
"""

import asyncio
import base64
import binascii
import contextlib
import json
import logging

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError

from . import services
from .db import db_call
from .frame_log import frame_log
from .models import ChargerCommand, CommandStatus, Direction
from .node import handshake_slots, this_node
from .ocpp_handlers import SUBPROTOCOLS, subprotocol_choose
from .services import charger_connection_take

log = logging.getLogger(__name__)

CLOSE_REPLACED = 4000
CLOSE_GOING_AWAY = 4001
CLOSE_NO_SUBPROTOCOL = 4002
CLOSE_UNSUPPORTED_DATA = 4003
CLOSE_TOO_BIG = 4009


def _basic_auth(scope) -> tuple[str, bytes] | None:
    """(user, password) of HTTP Basic. The password stays bytes: OCPP-J 1.6's example sends the
    20-byte key raw, which need not be text."""
    for name, value in scope.get("headers", []):
        if name.lower() != b"authorization":
            continue
        scheme, _, encoded = value.decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
            return user.decode(), password
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


class OcppConsumer(AsyncWebsocketConsumer):
    charger = None
    central_system = None
    reader: asyncio.Task | None = None
    transport_gone = False  # daphne said websocket.disconnect (it may still be queued)
    owns_socket = False  # accepted, and counted by this node
    cancelled = False

    async def __call__(self, scope, receive, send):
        """Channels' loop, with daphne's messages read ahead by a task of ours: a handshake
        waiting for its turn learns that its socket is gone and does no work for it."""
        self.command_tasks: set[asyncio.Task] = set()
        self.masked: set[str] = set()
        messages: asyncio.Queue = asyncio.Queue()

        async def read_ahead():
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    self.transport_gone = True
                messages.put_nowait(message)

        reading = asyncio.create_task(read_ahead())
        try:
            await super().__call__(scope, messages.get, send)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            # Shielded: a second cancel (daphne giving up on a slow shutdown) must not leave the
            # charger marked connected.
            await asyncio.shield(self._end())

    async def dispatch(self, message):
        """As Channels' own, without its connection check before every message: that is a hop
        to the sync thread all consumers share, per frame. Database calls here go through
        ``db_call``, which checks connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _refuse(self):
        await self.close()  # before accept: daphne refuses the handshake with 403
        raise StopConsumer

    async def connect(self):
        self.charge_point_id = self.scope["url_route"]["kwargs"]["charge_point_id"]
        subprotocol = subprotocol_choose(
            self.scope.get("subprotocols", []), settings.OCPP_VERSION_PREFERENCE
        )
        if subprotocol is None:
            await self.accept()
            await self.close(code=CLOSE_NO_SUBPROTOCOL)
            raise StopConsumer
        version, central_system = SUBPROTOCOLS[subprotocol]
        credentials = _basic_auth(self.scope)
        if credentials and credentials[0] != self.charge_point_id:
            await self._refuse()
        async with handshake_slots():
            if self.transport_gone:
                raise StopConsumer
            client = self.scope.get("client") or ("", 0)
            # One thread hop: authenticate and take the socket (``handshake``).
            charger, previous = await db_call(charger_connection_take)(
                charge_point_id=self.charge_point_id,
                password=credentials[1] if credentials else None,
                channel_name=self.channel_name,
                remote_address=str(client[0] or ""),
                ocpp_version=version,
            )
            if charger is None:
                await self._refuse()
            self.charger = charger
            self.inbox: asyncio.Queue[str] = asyncio.Queue()
            # Owned from here, even if the socket went meanwhile: ``_end`` gives the row back.
            this_node().hold(self.channel_name)
            self.owns_socket = True
            if previous:
                await self.channel_layer.send(previous, {"type": "ocpp.replaced"})
            if self.transport_gone:
                raise StopConsumer
            await self.accept(subprotocol=subprotocol)
        self.central_system = central_system(charger, self)
        self.reader = asyncio.create_task(self.central_system.start())

    async def disconnect(self, code):
        """Nothing here: ``_end`` runs for this and for every other way the consumer ends."""

    async def _end(self) -> None:
        tasks = [task for task in (self.reader, *self.command_tasks) if task is not None]
        for task in tasks:
            task.cancel()
        # Awaited: a command's cancellation stores its "offline" outcome.
        await asyncio.gather(*tasks, return_exceptions=True)
        if not self.owns_socket:
            return
        self.owns_socket = False
        try:
            if self.cancelled and not self.transport_gone:
                await self.close(code=CLOSE_GOING_AWAY)
            if this_node().closing:
                return  # the node shutting down releases all its chargers in one statement
            await frame_log().flush()
            await db_call(services.charger_connection_close)(
                charger_id=self.charger.pk, channel_name=self.channel_name
            )
        except Exception:
            log.exception("%s: cleanup after the socket closed failed", self.charge_point_id)
        finally:
            await this_node().release()

    async def receive(self, text_data=None, bytes_data=None):
        if self.central_system is None:
            return
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED_DATA)
            raise StopConsumer
        limit = settings.CHARGING_MAX_FRAME_BYTES
        if len(text_data) > limit or (
            len(text_data) * 4 > limit and len(text_data.encode()) > limit
        ):
            await self._log(Direction.IN, text_data[:1000] + "...(cut: frame too big)")
            await self.close(code=CLOSE_TOO_BIG)
            raise StopConsumer
        await self._log(Direction.IN, text_data)
        self.inbox.put_nowait(text_data)

    # The ocpp library's connection interface.
    async def recv(self) -> str:
        return await self.inbox.get()

    async def send(self, text_data=None, bytes_data=None, close=False):
        if text_data is not None:
            await self._log(Direction.OUT, text_data)
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def _log(self, direction: str, frame: str) -> None:
        for secret in self.masked:  # a key being sent to the charger is never logged
            frame = frame.replace(secret, services.KEY_MASK)
        frame_log().add(
            charger_id=self.charger.pk,
            charge_point_id=self.charge_point_id,
            direction=direction,
            frame=frame,
        )

    # --- channel layer events -----------------------------------------------------------------

    async def ocpp_replaced(self, event):
        log.info("%s: replaced by a newer connection, closing", self.charge_point_id)
        await self.close(code=CLOSE_REPLACED)
        raise StopConsumer

    async def ocpp_command(self, event):
        if self.central_system is None:
            return
        task = asyncio.create_task(self._perform(event["command_id"], event.get("secret", "")))
        self.command_tasks.add(task)
        task.add_done_callback(self.command_tasks.discard)

    async def _perform(self, command_id: int, secret: str = "") -> None:
        command = await db_call(
            ChargerCommand.objects.filter(pk=command_id, status=CommandStatus.PENDING).first
        )()
        if command is None:
            return
        outcome: dict = {"status": CommandStatus.ACCEPTED}
        payload = command.payload
        if secret:  # a key rotation: the key came with the event, never stored
            self.masked.add(secret)
            payload = json.loads(json.dumps(payload).replace(services.KEY_MASK, secret))
        try:
            request = self.central_system.command_call(command.operation, payload)
            result = await self.central_system.call(request, suppress=False)
            outcome["response"] = self.central_system.answer_payload(result)
        except TimeoutError:
            outcome = {
                "status": CommandStatus.TIMEOUT,
                "description": f"No answer within {settings.CHARGING_COMMAND_TIMEOUT} s.",
            }
        except OCPPError as error:
            outcome = {
                "status": CommandStatus.ERROR,
                "code": error.code,
                "description": str(error.description),
            }
        except UnknownCallErrorCodeError as error:
            outcome = {"status": CommandStatus.ERROR, "code": "Unknown", "description": str(error)}
        except Exception as error:  # a malformed answer must not kill the connection
            log.exception("%s: command %s failed", self.charge_point_id, command_id)
            outcome = {
                "status": CommandStatus.ERROR,
                "code": "InternalError",
                "description": str(error),
            }
        except asyncio.CancelledError:
            await db_call(services.command_complete)(
                command_id=command_id,
                status=CommandStatus.OFFLINE,
                description="The connection closed before the charger answered.",
            )
            raise
        await db_call(services.command_complete)(command_id=command_id, **outcome)
