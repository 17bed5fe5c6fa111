"""Heartbeats written in batches, with the frame log (``frame_log.FrameLog.heartbeat``).

Profiled under load (bench/README.md, section 4), ``services.heartbeat_record`` was a quarter
of the database threads' time: one UPDATE per Heartbeat, each committed durably (waiting for the
WAL flush) while the charger waits for its answer. A heartbeat only says "alive at t"; it is
queued with the frame log and written with its batch, one statement for all of them, committed
without waiting for the disk. A process that dies loses at most the batch window, as the frame
log does; the next heartbeat writes it again.
"""

from datetime import datetime

from django.db import connection

from . import services
from .models import Charger

_BEATS = """
UPDATE {table} AS c
   SET last_heartbeat_at = v.at,
       last_message_at = GREATEST(COALESCE(c.last_message_at, v.at), v.at),
       connected = CASE WHEN v.channel <> '' AND NOT c.connected AND c.channel_name = ''
                        THEN true ELSE c.connected END,
       connected_at = CASE WHEN v.channel <> '' AND NOT c.connected AND c.channel_name = ''
                           THEN v.at ELSE c.connected_at END,
       channel_name = CASE WHEN v.channel <> '' AND NOT c.connected AND c.channel_name = ''
                           THEN v.channel ELSE c.channel_name END
  FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v(id, at, channel),
       (SELECT set_config('synchronous_commit', 'off', true)) AS no_disk_wait
 WHERE c.id = v.id
"""


def heartbeats_record(*, beats: dict[int, tuple[datetime, str]]) -> None:
    """``{charger id: (time, channel name)}``: as ``services.heartbeat_record`` for each (the
    heartbeat time, and bringing back a charger the offline check gave up on while that socket
    stayed open), in one statement."""
    if not beats:
        return
    if connection.vendor != "postgresql":
        for charger_id, (_, channel_name) in beats.items():
            services.heartbeat_record(charger_id=charger_id, channel_name=channel_name)
        return
    ids = list(beats)
    with connection.cursor() as cursor:
        cursor.execute(
            _BEATS.format(table=connection.ops.quote_name(Charger._meta.db_table)),
            [ids, [beats[i][0] for i in ids], [beats[i][1] for i in ids]],
        )
