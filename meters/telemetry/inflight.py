"""Marks of messages in progress, so a message that kills the ingest process cannot kill it again.

Every guard in ``services`` turns a message's exception into a dead letter; what no guard can
catch is a process that dies outright on a message (a segfault in a C extension, the kernel's
OOM killer, a bug outside the per-message steps). The broker then redelivers the unacknowledged
batch to the restarted process, which would die again, for ever, taking every device's
telemetry with it.

So before a batch is stored, each message's identity (``services.message_digest``: topic and
payload) is marked in the cache (Redis; the file cache in the embedded demo), and the mark is
removed once the message is acknowledged. A message that arrives already marked was in progress
when a process died:

- marked fewer than TELEMETRY_CRASH_LIMIT times: a *suspect*; it is stored alone (its own mark,
  transaction and acknowledgement), so one culprit cannot take its batch-mates down again;
- marked TELEMETRY_CRASH_LIMIT times: it has been in progress at that many deaths; it is
  dead-lettered as ``crashed_before`` without being read.

The cache being away must not stop ingest: the marks are then skipped (logged), and ingest runs
as it did without them.
"""

import logging

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

KEY = "telemetry:inflight:{digest}"
# A mark outlives any restart loop; one left by a message that was never redelivered expires.
MARK_SECONDS = 24 * 3600


def _keys(digests) -> dict[str, str]:
    return {KEY.format(digest=digest): digest for digest in digests}


def counts(digests: list[str]) -> dict[str, int]:
    """How many times each digest was marked and never cleared (0 for most)."""
    keys = _keys(digests)
    try:
        found = cache.get_many(list(keys))
    except Exception:
        log.exception("ingest: in-progress marks not readable; going on without them")
        return dict.fromkeys(digests, 0)
    return {digest: int(found.get(key) or 0) for key, digest in keys.items()}


def mark(marks: dict[str, int]) -> None:
    """Record digests as in progress, each with its new count."""
    if not marks:
        return
    try:
        cache.set_many(
            {KEY.format(digest=digest): count for digest, count in marks.items()},
            timeout=MARK_SECONDS,
        )
    except Exception:
        log.exception("ingest: in-progress marks not written; going on without them")


def clear(digests) -> None:
    """Forget digests once their messages are acknowledged."""
    keys = list(_keys(digests))
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except Exception:
        log.exception("ingest: in-progress marks not cleared")


def crash_limit() -> int:
    return settings.TELEMETRY_CRASH_LIMIT
