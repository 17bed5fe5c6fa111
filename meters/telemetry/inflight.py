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

With Redis the marks are fields of a hash per period of MARK_SECONDS (field: digest, value: the
count), so a batch costs one round trip for each of reading, marking and clearing, whatever its
size, instead of a key (and an expiry) per message through the cache's per-key API. Marks are
read from the current and the previous period's hashes and cleared from both; each hash expires
a period after its own ends, so a mark lives between MARK_SECONDS and twice that. Elsewhere (the
file cache of the embedded defaults) the marks are one cache entry, each mark with its own
expiry, MARK_SECONDS after it was made.

The cache being away must not stop ingest: the marks are then skipped (logged), and ingest runs
as it did without them.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

MARKS_KEY = "telemetry:inflight:marks"
PERIOD_KEY = "telemetry:inflight:period:{period}"
# A mark outlives any restart loop; one left by a message that was never redelivered expires.
MARK_SECONDS = 24 * 3600
_clock = time.time


class _RedisMarks:
    """The marks as hash fields, on the cache's own Redis connection pool and key prefix."""

    def __init__(self, backend: RedisCache):
        self.backend = backend

    def _periods(self) -> tuple[int, int]:
        current = int(_clock() // MARK_SECONDS)
        return current, current - 1

    def _key(self, period: int) -> str:
        return self.backend.make_key(PERIOD_KEY.format(period=period))

    def _client(self):
        return self.backend._cache.get_client(write=True)

    def counts(self, digests: list[str]) -> list[int]:
        pipe = self._client().pipeline(transaction=False)
        for period in self._periods():
            pipe.hmget(self._key(period), digests)
        current, previous = pipe.execute()
        return [
            max(int(now or 0), int(before or 0))
            for now, before in zip(current, previous, strict=True)
        ]

    def mark(self, marks: dict[str, int]) -> None:
        period, _ = self._periods()
        key = self._key(period)
        pipe = self._client().pipeline(transaction=False)
        pipe.hset(key, mapping=marks)
        pipe.expireat(key, (period + 2) * MARK_SECONDS)
        pipe.execute()

    def clear(self, digests: list[str]) -> None:
        pipe = self._client().pipeline(transaction=False)
        for period in self._periods():
            pipe.hdel(self._key(period), *digests)
        pipe.execute()


class _CacheMarks:
    """The marks as one cache entry (digest: count and expiry), for any other cache backend.

    One entry, not one per mark: the file cache culls a random third of its entries (heartbeats
    and throttle counters too) whenever it holds 300, which a batch's marks alone exceed. Its
    read-modify-write assumes one ingest process per cache, as the embedded defaults run; several
    processes share marks through Redis."""

    def _load(self) -> dict[str, tuple[int, float]]:
        now = _clock()
        return {
            digest: (count, expires)
            for digest, (count, expires) in (cache.get(MARKS_KEY) or {}).items()
            if expires > now
        }

    def _save(self, marks: dict[str, tuple[int, float]]) -> None:
        if marks:
            cache.set(MARKS_KEY, marks, timeout=MARK_SECONDS)
        else:
            cache.delete(MARKS_KEY)

    def counts(self, digests: list[str]) -> list[int]:
        found = self._load()
        return [found[digest][0] if digest in found else 0 for digest in digests]

    def mark(self, marks: dict[str, int]) -> None:
        expires = _clock() + MARK_SECONDS
        self._save(self._load() | {digest: (count, expires) for digest, count in marks.items()})

    def clear(self, digests: list[str]) -> None:
        found = self._load()
        for digest in digests:
            found.pop(digest, None)
        self._save(found)


def _marks() -> _RedisMarks | _CacheMarks:
    backend = caches["default"]
    return _RedisMarks(backend) if isinstance(backend, RedisCache) else _CacheMarks()


def counts(digests: list[str]) -> dict[str, int]:
    """How many times each digest was marked and never cleared (0 for most)."""
    digests = list(digests)
    if not digests:
        return {}
    try:
        found = _marks().counts(digests)
    except Exception:
        log.exception("ingest: in-progress marks not readable; going on without them")
        return dict.fromkeys(digests, 0)
    return dict(zip(digests, found, strict=True))


def mark(marks: dict[str, int]) -> None:
    """Record digests as in progress, each with its new count."""
    if not marks:
        return
    try:
        _marks().mark(marks)
    except Exception:
        log.exception("ingest: in-progress marks not written; going on without them")


def clear(digests) -> None:
    """Forget digests once their messages are acknowledged."""
    digests = list(digests)
    if not digests:
        return
    try:
        _marks().clear(digests)
    except Exception:
        log.exception("ingest: in-progress marks not cleared")


def crash_limit() -> int:
    return settings.TELEMETRY_CRASH_LIMIT
