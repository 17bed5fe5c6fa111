"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per thread and asyncio context (``caches`` is an asgiref
``Local``), and its Redis backend gives every cache object a connection pool of its own. Under
daphne every websocket consumer is a context of its own and ``sync_to_async`` calls run in
copies of it, so each consumer (and each pool thread it lands on) opened a new Redis connection
the first time it touched the cache, and kept it as long as it lived: a fleet of 2,000 chargers
held thousands of connections and paid a TCP connect and a HELLO on its handshakes' path.
redis-py's pool is thread-safe (and re-created after a fork), so one per URL and options serves
the whole process.
"""

import threading

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _pools: dict[str, redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options) -> redis.ConnectionPool:
        key = f"{url} {sorted(options.items(), key=lambda item: item[0])!r}"
        with cls._lock:
            pool = cls._pools.get(key)
            if pool is None:
                pool = cls._pools[key] = super().from_url(url, **options)
            return pool
