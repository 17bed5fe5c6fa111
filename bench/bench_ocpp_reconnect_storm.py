"""OCPP 1.6J reconnect storm: a whole fleet comes back at once to one real daphne.

Sets up a throw-away PostgreSQL database (``bench_ocpp_storm`` unless ``TEST_DATABASE_NAME``
says otherwise) and ``--chargers`` chargers (default 2,000), each registered through
``charging.services.charger_register`` so that it gets a real generated authorization key
(HMAC-keyed digest stored, key used as the HTTP Basic password, security profile 1). Starts
daphne as the Procfile does (``tests.servers.Daphne``: ``--websocket_timeout -1
--websocket_connect_timeout 20``, production settings, persistent database connections, the
Redis channel layer from ``REDIS_URL``, default db 3).

1. All chargers connect (ocpp1.6 subprotocol, Basic key) and send BootNotification; this first
   connect is spread out (``--warmup-concurrency`` at a time) and not measured.
2. The outage (``--outage``): ``restart`` stops daphne with SIGTERM and starts it again on the
   same port (a deploy, or a node restarted by its supervisor); ``kill`` does it with SIGKILL
   (a crash: no close frame, the new process finds every charger still marked connected);
   ``drop`` leaves daphne running and cuts every client socket at once without a close
   handshake (a network outage: the server has 2,000 dead consumers to clean up while the
   fleet comes back).
3. Every charger reconnects as charger firmware does (OCPP 2.0.1's RetryBackOff* keys, which
   typical 1.6 firmware follows too): a random delay of 0-``--initial-delay`` s, then after each
   failed attempt ``--backoff-min`` x 2^n s (n = failures so far, at most
   ``--backoff-repeat``) plus a random 0-``--backoff-range`` s. An attempt is the TCP connect,
   the websocket handshake (``--open-timeout`` s at most, 30 as most firmware) and the
   BootNotification answered Accepted.

Prints: time from the outage until all chargers are Boot Accepted again (and from the moment
the new daphne listens, for restart/kill), handshake p50/p99 (TCP connect to websocket open,
successful attempts), boot round trip p50/p99, failed attempts by cause, and chargers left out
after ``--deadline`` s. Asserts nothing.

    .venv/bin/python bench/bench_ocpp_reconnect_storm.py [--chargers 2000] [--outage restart]
"""

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_ocpp_storm")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")


def _raise_file_limit(needed: int) -> int:
    """Each charger is one client socket here (and one in daphne, a child with our limits)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, needed))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"p50 {statistics.median(values) * 1000:.0f} ms, p99 "
        f"{_percentile(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
    )


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Charger:
    """One simulated charger: a raw ``websockets`` client with hand-built OCPP-J frames (the
    full ``ocpp`` ChargePoint per client would make the client, not the server, the limit on
    two cores)."""

    def __init__(self, fleet: "Fleet", charge_point_id: str, key: str):
        self.fleet = fleet
        self.id = charge_point_id
        token = base64.b64encode(f"{charge_point_id}:{key}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        self.websocket = None
        self.back_at: float | None = None
        self.sequence = 0

    async def attempt(self) -> None:
        """One connect + boot; raises on failure (the cause is the exception's kind)."""
        from websockets.asyncio.client import connect

        options = self.fleet.options
        started = time.perf_counter()
        websocket = await connect(
            f"{self.fleet.url}/{self.id}",
            subprotocols=["ocpp1.6"],
            additional_headers=self.headers,
            ping_interval=None,
            open_timeout=options.open_timeout,
            close_timeout=1,
            max_queue=4,
            proxy=None,
        )
        opened = time.perf_counter()
        try:
            if websocket.subprotocol != "ocpp1.6":
                raise RuntimeError("no ocpp1.6 subprotocol")
            self.sequence += 1
            await websocket.send(
                json.dumps(
                    [
                        2,
                        f"boot-{self.sequence}",
                        "BootNotification",
                        {"chargePointVendor": "Bench", "chargePointModel": "Storm"},
                    ]
                )
            )
            answer = json.loads(
                await asyncio.wait_for(websocket.recv(), timeout=options.open_timeout)
            )
            if answer[0] != 3 or answer[2].get("status") != "Accepted":
                raise RuntimeError(f"boot not accepted: {answer!r}"[:200])
        except BaseException:
            websocket.transport.abort()
            raise
        booted = time.perf_counter()
        self.websocket = websocket
        self.fleet.handshakes.append(opened - started)
        self.fleet.boots.append(booted - opened)

    async def come_back(self, initial_delay: float) -> None:
        """Reconnect with the firmware's backoff until Boot Accepted."""
        options = self.fleet.options
        await asyncio.sleep(random.uniform(0, initial_delay))
        failures = 0
        while True:
            try:
                await self.attempt()
                self.back_at = time.perf_counter()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.fleet.failed[_cause(error)] += 1
            wait = options.backoff_min * 2 ** min(failures, options.backoff_repeat)
            failures += 1
            await asyncio.sleep(wait + random.uniform(0, options.backoff_range))

    async def hold(self) -> None:
        """Connected: answer nothing, just notice the socket closing."""
        websocket = self.websocket
        try:
            async for _ in websocket:
                pass
        except Exception:  # noqa: S110 - an abrupt close is what this waits for
            pass


def _cause(error: Exception) -> str:
    from websockets.exceptions import InvalidStatus

    if isinstance(error, InvalidStatus):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, TimeoutError):
        return "timeout"
    return type(error).__name__


class Fleet:
    def __init__(self, url: str, keys: dict[str, str], options):
        self.url = url
        self.options = options
        self.chargers = [Charger(self, cp, key) for cp, key in keys.items()]
        self.handshakes: list[float] = []
        self.boots: list[float] = []
        self.failed: collections.Counter[str] = collections.Counter()

    def reset_figures(self) -> None:
        self.handshakes, self.boots = [], []
        self.failed = collections.Counter()
        for charger in self.chargers:
            charger.back_at = None

    async def warm_up(self) -> float:
        gate = asyncio.Semaphore(self.options.warmup_concurrency)

        async def one(charger):
            async with gate:
                await charger.come_back(0)

        started = time.perf_counter()
        await asyncio.gather(*(one(charger) for charger in self.chargers))
        return time.perf_counter() - started

    async def storm(self, outage) -> dict:
        """``outage`` is a coroutine that takes the chargers' sockets away and returns when the
        server accepts connections again; every charger starts coming back as soon as its own
        socket is gone."""
        self.reset_figures()
        deadline = self.options.deadline

        async def one(charger):
            await charger.hold()
            await charger.come_back(self.options.initial_delay)
            return await charger.hold()

        started = time.perf_counter()
        sessions = [asyncio.create_task(one(charger)) for charger in self.chargers]
        listening_at = await outage()
        ready = asyncio.Event()

        async def watch():
            while sum(c.back_at is not None for c in self.chargers) < len(self.chargers):
                await asyncio.sleep(0.1)
            ready.set()

        watcher = asyncio.create_task(watch())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                ready.wait(), timeout=max(0.0, deadline - (time.perf_counter() - started))
            )
        watcher.cancel()
        backs = [c.back_at - started for c in self.chargers if c.back_at is not None]
        figures = {
            "back": len(backs),
            "left_out": len(self.chargers) - len(backs),
            "all_back_s": max(backs) if len(backs) == len(self.chargers) else None,
            "last_back_s": max(backs, default=None),
            "median_back_s": statistics.median(backs) if backs else None,
            "listening_after_s": listening_at - started if listening_at else None,
            "handshakes": list(self.handshakes),
            "boots": list(self.boots),
            "failed": dict(self.failed),
        }
        for session in sessions:
            session.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        return figures

    async def close(self) -> None:
        await asyncio.gather(
            *(c.websocket.close() for c in self.chargers if c.websocket is not None),
            return_exceptions=True,
        )


def make_chargers(count: int) -> dict[str, str]:
    """``count`` Accepted chargers registered through the service, each with a generated key
    (as staff registering a charger get it, shown once)."""
    from charging import services

    keys = {}
    for number in range(count):
        charger = services.charger_register(charge_point_id=f"S{number:05d}")
        keys[charger.charge_point_id] = charger.authorization_key
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=2000)
    parser.add_argument("--outage", choices=["restart", "kill", "drop"], default="restart")
    parser.add_argument("--initial-delay", type=float, default=1.0)
    parser.add_argument("--backoff-min", type=float, default=1.0)
    parser.add_argument("--backoff-range", type=float, default=1.0)
    parser.add_argument("--backoff-repeat", type=int, default=4)
    parser.add_argument("--open-timeout", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--warmup-concurrency", type=int, default=100)
    options = parser.parse_args()
    files = _raise_file_limit(2 * options.chargers + 512)

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    from tests.servers import Daphne, database_url

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    daphne = None
    try:
        made = time.perf_counter()
        keys = make_chargers(options.chargers)
        made = time.perf_counter() - made
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": database_url(connection.settings_dict, database),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
        connection.close()
        daphne = Daphne(env).start()
        print(
            f"reconnect storm: {options.chargers} chargers (registered with keys in "
            f"{made:.1f} s), outage {options.outage}, {os.cpu_count()} cores, open files "
            f"{files}, load {_load()}; daphne pid {daphne.process.pid}",
            flush=True,
        )
        summary = asyncio.run(_run(daphne, keys, options))
        print(f"load after: {_load()}")
        _print(summary, options)
    finally:
        if daphne is not None:
            daphne.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


async def _run(daphne, keys, options) -> dict:
    fleet = Fleet(f"{daphne.ws_url}/ocpp", keys, options)
    warm = await fleet.warm_up()
    print(
        f"warm-up: {options.chargers} connected and booted in {warm:.1f} s "
        f"(handshake {_ms(fleet.handshakes)}; failed {dict(fleet.failed) or 0})",
        flush=True,
    )

    async def restart(kill: bool):
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, daphne.kill if kill else daphne.stop)
        await loop.run_in_executor(None, daphne.start)
        return time.perf_counter()

    async def drop():
        for charger in fleet.chargers:
            charger.websocket.transport.abort()
        return None

    outages = {
        "restart": lambda: restart(kill=False),
        "kill": lambda: restart(kill=True),
        "drop": drop,
    }
    figures = await fleet.storm(outages[options.outage])
    await fleet.close()
    return figures


def _print(figures: dict, options) -> None:
    seconds = (
        "all back in {:.1f} s".format(figures["all_back_s"])
        if figures["all_back_s"]
        else (f"NOT all back within {options.deadline:g} s")
    )
    print(f"\nstorm ({options.outage}): {figures['back']} of {options.chargers} back, {seconds}")
    if figures["listening_after_s"] is not None:
        print(
            f"  new daphne listening {figures['listening_after_s']:.1f} s after the outage began; "
            f"all back {((figures['last_back_s'] or 0) - figures['listening_after_s']):.1f} s "
            "after that"
        )
    if figures["median_back_s"] is not None:
        print(f"  median charger back after {figures['median_back_s']:.1f} s")
    print(f"  handshake (TCP connect to websocket open): {_ms(figures['handshakes'])}")
    print(f"  boot round trip: {_ms(figures['boots'])}")
    failed = figures["failed"]
    print(f"  failed attempts: {sum(failed.values())} {failed or ''}")
    print(f"  left out: {figures['left_out']}")


if __name__ == "__main__":
    main()
