"""The OCPP frame log, written in batches.

Every frame in and out is kept (``OcppMessage``), but one INSERT per frame would put two extra
database round trips on every message's path. Frames are queued in memory and written together
``CHARGING_LOG_FLUSH_SECONDS`` after the first of a batch (and when a socket closes), with the
chargers' last-message times in one UPDATE. A process that dies loses at most that window of log.
Heartbeats (``heartbeat``) go with the same batch: one statement for all of them
(``services.heartbeats_record``) instead of a durable commit per Heartbeat on its answer's path.
"""

import asyncio
import weakref

from django.conf import settings
from django.utils import timezone

from . import services
from .db import db_call
from .services import heartbeats_record


class FrameLog:
    def __init__(self):
        self.pending: list[dict] = []
        self.beats: dict[int, tuple] = {}  # charger id -> (time, channel name), the latest
        self.flusher: asyncio.Task | None = None

    def add(self, *, charger_id: int, charge_point_id: str, direction: str, frame: str) -> None:
        self.pending.append(
            {
                "charger_id": charger_id,
                "charge_point_id": charge_point_id,
                "direction": direction,
                "frame": frame,
                "created_at": timezone.now(),
            }
        )
        self._flush_later()

    def heartbeat(self, *, charger_id: int, channel_name: str) -> None:
        """As ``services.heartbeat_record``, written with the next batch."""
        self.beats[charger_id] = (timezone.now(), channel_name)
        self._flush_later()

    def _flush_later(self) -> None:
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(settings.CHARGING_LOG_FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        while self.pending or self.beats:
            rows, self.pending = self.pending, []
            beats, self.beats = self.beats, {}
            await db_call(_record)(rows=rows, beats=beats)


def _record(*, rows: list[dict], beats: dict[int, tuple]) -> None:
    if rows:
        services.ocpp_messages_record(rows=rows)
    heartbeats_record(beats=beats)


_logs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FrameLog]" = (
    weakref.WeakKeyDictionary()
)


def frame_log() -> FrameLog:
    """This event loop's log (daphne has one loop; each test has its own)."""
    loop = asyncio.get_running_loop()
    if loop not in _logs:
        _logs[loop] = FrameLog()
    return _logs[loop]
