"""The in-progress marks (``meters.telemetry.inflight``) on both stores they run on: Redis (one
hash a period, one round trip per batch for each operation) and any other cache backend (the
file cache of the embedded defaults), with the same promise: a count per digest until cleared,
an expiry for marks never cleared, and a cache that is away never stopping ingest."""

import hashlib
import pickle
import time

import pytest
from django.core.cache import caches
from django.test import override_settings

from meters.telemetry import inflight

pytestmark = pytest.mark.django_db


def digests(count: int, salt: str = "") -> list[str]:
    return [hashlib.sha256(f"{salt}{n}".encode()).hexdigest() for n in range(count)]


def redis_client():
    backend = caches["default"]
    return backend._cache.get_client(write=True)


def period_key(period: int) -> str:
    return caches["default"].make_key(inflight.PERIOD_KEY.format(period=period))


@pytest.fixture
def file_cache(tmp_path):
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
    ):
        yield caches["default"]


def check_counts_until_cleared():
    batch = digests(2000)
    assert set(inflight.counts(batch).values()) == {0}

    inflight.mark(dict.fromkeys(batch, 1))
    inflight.mark({batch[7]: 2})

    counts = inflight.counts(batch + digests(3, salt="other"))
    assert counts[batch[7]] == 2
    assert {counts[d] for d in batch if d != batch[7]} == {1}
    assert [counts[d] for d in digests(3, salt="other")] == [0, 0, 0]

    inflight.clear(batch[:1000])
    counts = inflight.counts(batch)
    assert {counts[d] for d in batch[:1000]} == {0}
    assert {counts[d] for d in batch[1000:]} == {1}
    inflight.clear({d: 1 for d in batch[1000:]})
    assert set(inflight.counts(batch).values()) == {0}


def test_it_counts_marks_until_they_are_cleared_in_redis():
    check_counts_until_cleared()


def test_it_counts_marks_until_they_are_cleared_in_the_file_cache(file_cache):
    check_counts_until_cleared()


def test_it_keeps_a_batch_of_marks_in_one_redis_hash_that_expires():
    batch = digests(500)
    inflight.mark(dict.fromkeys(batch, 1))

    client = redis_client()
    keys = client.keys(caches["default"].make_key("telemetry:inflight:*"))
    assert len(keys) == 1
    assert client.hlen(keys[0]) == 500
    assert inflight.MARK_SECONDS < client.ttl(keys[0]) <= 2 * inflight.MARK_SECONDS

    inflight.clear(batch)
    assert client.exists(keys[0]) == 0


def test_it_reads_and_clears_marks_left_in_the_previous_period(monkeypatch):
    """A mark made just before a period ends is still seen (and counted up) in the next, and
    clearing removes it from both hashes; each hash expires a period after its own ends, and
    two periods on a mark is no longer read."""
    period = int(time.time() // inflight.MARK_SECONDS)
    start = period * inflight.MARK_SECONDS
    batch = digests(4)
    monkeypatch.setattr(inflight, "_clock", lambda: start + inflight.MARK_SECONDS - 1)
    inflight.mark(dict.fromkeys(batch, 1))

    monkeypatch.setattr(inflight, "_clock", lambda: start + inflight.MARK_SECONDS + 1)
    assert list(inflight.counts(batch).values()) == [1, 1, 1, 1]
    inflight.mark({batch[0]: 2})
    assert list(inflight.counts(batch).values()) == [2, 1, 1, 1]

    client = redis_client()
    assert client.hlen(period_key(period)) == 4 and client.hlen(period_key(period + 1)) == 1
    assert client.expiretime(period_key(period)) == (period + 2) * inflight.MARK_SECONDS
    assert client.expiretime(period_key(period + 1)) == (period + 3) * inflight.MARK_SECONDS

    monkeypatch.setattr(inflight, "_clock", lambda: start + 3 * inflight.MARK_SECONDS)
    assert set(inflight.counts(batch).values()) == {0}

    monkeypatch.setattr(inflight, "_clock", lambda: start + inflight.MARK_SECONDS + 2)
    inflight.clear(batch)
    assert client.exists(period_key(period), period_key(period + 1)) == 0


def test_it_expires_each_file_cache_mark_and_keeps_other_entries(file_cache, monkeypatch):
    """The embedded store: a mark never cleared is forgotten MARK_SECONDS after it was made,
    and a batch's marks (more than the file cache's 300 entries) cull none of its other
    entries (the heartbeat lives there too)."""
    file_cache.set("heartbeat", "alive")
    now = time.time()
    monkeypatch.setattr(inflight, "_clock", lambda: now)
    old, new = digests(1000, salt="old"), digests(1000, salt="new")
    inflight.mark(dict.fromkeys(old, 1))
    monkeypatch.setattr(inflight, "_clock", lambda: now + 60)
    inflight.mark(dict.fromkeys(new, 1))

    monkeypatch.setattr(inflight, "_clock", lambda: now + inflight.MARK_SECONDS + 1)
    counts = inflight.counts(old + new)
    assert {counts[d] for d in old} == {0} and {counts[d] for d in new} == {1}
    assert file_cache.get("heartbeat") == "alive"
    with open(file_cache._key_to_file(inflight.MARKS_KEY), "rb") as stored:
        expires = pickle.load(stored)  # noqa: S301 - the cache's own file
    assert abs(expires - (time.time() + inflight.MARK_SECONDS)) < 60


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
)
def test_it_goes_on_without_marks_when_redis_is_away(caplog):
    batch = digests(3)
    assert inflight.counts(batch) == dict.fromkeys(batch, 0)
    inflight.mark(dict.fromkeys(batch, 1))
    inflight.clear(batch)
    assert [r.message for r in caplog.records] == [
        "ingest: in-progress marks not readable; going on without them",
        "ingest: in-progress marks not written; going on without them",
        "ingest: in-progress marks not cleared",
    ]
