"""The cache under daphne: every websocket consumer is an asyncio context of its own, and
Django keeps a cache object per context and thread. Run in a fresh process: pytest's own set-up
touches the cache in ways a daphne process does not."""

import os
import subprocess
import sys

from tests.servers import ROOT

PROBE = """
import asyncio
import django
django.setup()
from asgiref.sync import sync_to_async
from django.core.cache import cache, caches

def pool_used():
    cache.set("test-cache:probe", 1, timeout=5)
    return caches["default"]._cache.get_client().connection_pool

async def consumer():
    return [await sync_to_async(pool_used, thread_sensitive=False)() for _ in range(3)]

async def fleet():
    consumers = await asyncio.gather(*(consumer() for _ in range(50)))
    return [pool for pools in consumers for pool in pools]

print(len({id(pool) for pool in asyncio.run(fleet())}))
"""


def test_it_shares_one_redis_connection_pool_between_consumers():
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings.test"}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    # Django's own pool per cache object gave 50 consumers 50 pools (and 50 Redis connections).
    assert probe.stdout.split() == ["1"]
