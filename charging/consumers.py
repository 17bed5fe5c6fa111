"""The websocket a charger holds: transport only. Frames go to ``ocpp_handlers.CentralSystem``;
commands from any process arrive through the channel layer addressed to this socket's channel.

One owner per charger: the charger row names the channel that holds its socket. A charger that
reconnects (to this daphne or another) takes the row over and tells the stale channel to close.
"""

import asyncio
import base64
import binascii
import logging

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError

from . import services
from .db import db_call
from .frame_log import frame_log
from .models import ChargerCommand, CommandStatus, Direction
from .ocpp_handlers import CentralSystem, answer_payload, command_call_payload

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
CLOSE_REPLACED = 4000  # application code: a newer connection of the same charger took over
CLOSE_PROTOCOL = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_TOO_BIG = 1009


def _basic_auth(scope) -> tuple[str, str] | None:
    for name, value in scope.get("headers", []):
        if name.lower() != b"authorization":
            continue
        scheme, _, encoded = value.decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password
    return None


class OcppConsumer(AsyncWebsocketConsumer):
    charger = None
    central_system = None

    async def dispatch(self, message):
        """As Channels' own, without its connection check before every message: that is a hop
        to the sync thread all consumers share, per frame. Database calls here go through
        ``db_call``, which checks connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.charge_point_id = self.scope["url_route"]["kwargs"]["charge_point_id"]
        if SUBPROTOCOL not in self.scope.get("subprotocols", []):
            # OCPP-J 1.6 section 3.1.2: finish the handshake without a subprotocol, then close.
            await self.accept()
            await self.close(code=CLOSE_PROTOCOL)
            return
        credentials = _basic_auth(self.scope)
        if credentials and credentials[0] != self.charge_point_id:
            await self.close()
            return
        charger = await db_call(services.charger_authenticate)(
            charge_point_id=self.charge_point_id,
            password=credentials[1] if credentials else None,
        )
        if charger is None:
            await self.close()  # before accept: daphne refuses the handshake with 403
            return
        self.charger = charger
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.command_tasks: set[asyncio.Task] = set()
        await self.accept(subprotocol=SUBPROTOCOL)
        client = self.scope.get("client") or ("", 0)
        previous = await db_call(services.charger_connection_open)(
            charger=charger, channel_name=self.channel_name, remote_address=str(client[0] or "")
        )
        if previous:
            await self.channel_layer.send(previous, {"type": "ocpp.replaced"})
        self.central_system = CentralSystem(charger, self)
        self.reader = asyncio.create_task(self.central_system.start())

    async def disconnect(self, code):
        if self.central_system is None:
            return
        self.reader.cancel()
        for task in list(self.command_tasks):
            task.cancel()
        await frame_log().flush()
        await db_call(services.charger_connection_close)(
            charger_id=self.charger.pk, channel_name=self.channel_name
        )

    async def receive(self, text_data=None, bytes_data=None):
        if self.central_system is None:
            return
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED_DATA)  # OCPP-J is text frames only
            return
        limit = settings.CHARGING_MAX_FRAME_BYTES
        if len(text_data) > limit or (
            len(text_data) * 4 > limit and len(text_data.encode()) > limit
        ):
            await self._log(Direction.IN, text_data[:1000] + "...(cut: frame too big)")
            await self.close(code=CLOSE_TOO_BIG)
            return
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

    async def ocpp_command(self, event):
        if self.central_system is None:
            return
        task = asyncio.create_task(self._perform(event["command_id"]))
        self.command_tasks.add(task)
        task.add_done_callback(self.command_tasks.discard)

    async def _perform(self, command_id: int) -> None:
        command = await db_call(
            ChargerCommand.objects.filter(pk=command_id, status=CommandStatus.PENDING).first
        )()
        if command is None:
            return
        outcome: dict = {"status": CommandStatus.ACCEPTED}
        try:
            request = command_call_payload(command.operation, command.payload)
            result = await self.central_system.call(request, suppress=False)
            outcome["response"] = answer_payload(result)
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
