"""OCPP load: N simulated chargers against one daphne process, next to a bare server, and a
mixed fleet (half OCPP 1.6J, half 2.0.1) on the same daphne next to its all-1.6 figures.

Both servers do the same work per message: the ``ocpp`` library's framing, routing and schema
validation, and the same ``charging.services`` writes (the batched frame log for every frame in
and out, heartbeats, meter samples with live connector state) in PostgreSQL, through the same
``charging.db.db_call`` thread pool. What differs is the transport: HomeGrid runs daphne +
Channels (+ the Redis channel layer for command routing); the bare server is a plain
``websockets`` server with an ``ocpp`` ChargePoint per connection.

Both servers run at once, each with its own fleet of ``--chargers`` chargers (default 2,000;
ocpp1.6 subprotocol, HTTP Basic), connected and booted first. Then ``--rounds`` rounds (default
3) alternate between the servers, each round of two phases of ``--seconds`` s:

1. scheduled: every charger sends Heartbeat and MeterValues alternately so that the fleet sends
   ``--rate`` messages/s (default 200); round-trip p50/p99;
2. closed loop: every charger sends its next message as soon as the previous one was answered;
   the answered messages per second is the maximum sustained rate.

The 2.0.1 mix (issue #18): a third fleet of ``--chargers`` on the same daphne, even ones
speaking ``ocpp1.6`` and odd ones ``ocpp2.0.1`` (the same Heartbeat / MeterValues, in each
version's shape), measured in the same rounds as the all-1.6 fleet; ``--no-mix`` leaves it out.

The figures printed last are the medians over the rounds.

Runs on a throw-away database (``bench_ocpp``) created and dropped by the script; Redis database
from ``REDIS_URL`` (default db 4). Chargers authenticate as in production: an authorization
key (one for the whole bench fleet) checked against its HMAC-keyed digest (``charging.keys``).
Prints figures; asserts nothing.

    .venv/bin/python bench/bench_ocpp_load.py [--chargers 2000] [--rate 200] [--seconds 20]
        [--rounds 3]
"""

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_ocpp")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")

from bench.ocpp_fleet import PASSWORD, Fleet, percentile  # noqa: E402
from bench.ocpp_fleet import now as _now  # noqa: E402
from tests.servers import free_port  # noqa: E402

# --- the bare server (run as a child process of this script) -----------------------------------


def bare_server(port: int) -> None:
    import django

    django.setup()
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call_result
    from ocpp.v16.enums import Action, RegistrationStatus
    from websockets.asyncio.server import serve

    from charging import services
    from charging.db import db_call
    from charging.frame_log import frame_log
    from charging.models import Charger

    class Logged:
        def __init__(self, websocket, charger):
            self.websocket = websocket
            self.charger = charger

        async def _log(self, direction, frame):
            frame_log().add(
                charger_id=self.charger.pk,
                charge_point_id=self.charger.charge_point_id,
                direction=direction,
                frame=frame,
            )

        async def recv(self):
            frame = await self.websocket.recv()
            await self._log("in", frame)
            return frame

        async def send(self, frame):
            await self._log("out", frame)
            await self.websocket.send(frame)

    class Bare(ChargePoint):
        def __init__(self, charger, connection):
            super().__init__(charger.charge_point_id, connection)
            self.charger = charger

        @on(Action.boot_notification)
        async def boot(self, **payload):
            await db_call(services.boot_notification_record)(charger=self.charger, payload=payload)
            return call_result.BootNotification(
                current_time=_now(), interval=300, status=RegistrationStatus.accepted
            )

        @on(Action.heartbeat)
        async def heartbeat(self, **payload):
            # As the consumer does: queued, written with the frame log's batch.
            frame_log().heartbeat(charger_id=self.charger.pk, channel_name="")
            return call_result.Heartbeat(current_time=_now())

        @on(Action.meter_values)
        async def meter_values(self, **payload):
            await db_call(services.meter_values_record)(charger=self.charger, **payload)
            return call_result.MeterValues()

    async def handler(websocket):
        charge_point_id = websocket.request.path.rsplit("/", 1)[-1]
        charger = await db_call(Charger.objects.get)(charge_point_id=charge_point_id)
        point = Bare(charger, Logged(websocket, charger))
        with contextlib.suppress(Exception):  # a closed socket ends the session
            await point.start()

    async def main():
        async with serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"], max_size=65536):
            await asyncio.Future()

    asyncio.run(main())


def _wait_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start") from None
            time.sleep(0.2)


async def _measure(servers: dict[str, tuple], args) -> dict[str, dict]:
    """All fleets connected at once; then rounds alternating between them, so that whatever
    else the machine is doing falls on all alike. Medians over the rounds."""
    fleets = {name: Fleet(*fleet) for name, fleet in servers.items()}
    connect = {}
    for name, fleet in fleets.items():
        connect[name] = await fleet.connect_all()
    rounds: dict[str, list[dict]] = {name: [] for name in fleets}
    for number in range(1, args.rounds + 1):
        for name, fleet in fleets.items():
            latencies = await fleet.scheduled(args.rate, args.seconds)
            answered, elapsed = await fleet.closed_loop(args.seconds)
            figures = {
                "round": number,
                "server": name,
                "scheduled_rate": round(len(latencies) / args.seconds, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
                "max_msgs_per_s": round(answered / elapsed, 1),
            }
            rounds[name].append(figures)
            print(json.dumps(figures), flush=True)
    for fleet in fleets.values():
        await fleet.close()
    summary = {}
    for name, fleet in fleets.items():
        summary[name] = {
            "chargers": len(fleet.sockets),
            "connect_and_boot_s": round(connect[name], 1),
            "call_errors": fleet.errors,
        } | {
            key: round(statistics.median(r[key] for r in rounds[name]), 1)
            for key in ("scheduled_rate", "p50_ms", "p99_ms", "max_msgs_per_s")
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chargers", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-mix", action="store_true", help="leave out the 1.6/2.0.1 mix")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
        return

    import django

    django.setup()
    from django.db import connection

    from charging import keys
    from charging.models import Charger

    old_name = connection.settings_dict["NAME"]
    database = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    servers = []
    try:
        password_hash = keys.key_digest(PASSWORD)
        daphne_ids = [f"D{n:05d}" for n in range(args.chargers)]
        bare_ids = [f"B{n:05d}" for n in range(args.chargers)]
        mix_ids = [] if args.no_mix else [f"M{n:05d}" for n in range(args.chargers)]
        mix_versions = {cp: ("1.6", "2.0.1")[n % 2] for n, cp in enumerate(mix_ids)}
        Charger.objects.bulk_create(
            Charger(charge_point_id=cp, password_hash=password_hash)
            for cp in daphne_ids + bare_ids + mix_ids
        )
        settings_dict = connection.settings_dict
        env = os.environ | {
            # Production-like: persistent database connections, no debug.
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DEBUG": "false",
            "DATABASE_URL": (
                f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@"
                f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{database}"
            ),
        }
        connection.close()

        daphne_port = free_port()
        daphne = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "--websocket_timeout",
                "-1",
                "--websocket_connect_timeout",
                "20",
                "-b",
                "127.0.0.1",
                "-p",
                str(daphne_port),
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("BENCH_LOG", os.devnull), "w"),  # noqa: SIM115
        )
        servers.append(daphne)
        bare_port = free_port()
        bare = subprocess.Popen(
            [sys.executable, __file__, "--bare-server", str(bare_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append(bare)
        _wait_port(daphne_port, daphne)
        _wait_port(bare_port, bare)
        fleets = {
            "daphne": (f"ws://127.0.0.1:{daphne_port}/ocpp", daphne_ids),
            "bare": (f"ws://127.0.0.1:{bare_port}/ocpp", bare_ids),
        }
        if mix_ids:
            fleets["mix"] = (f"ws://127.0.0.1:{daphne_port}/ocpp", mix_ids, mix_versions)
        summary = asyncio.run(_measure(fleets, args))
        print(
            f"\n{os.cpu_count()} cores; {args.chargers} chargers per server; target "
            f"{args.rate:g} msg/s; {args.rounds} rounds of {args.seconds:g} s; medians"
        )
        for name, figures in summary.items():
            print(
                f"{name:7} connect+boot {figures['connect_and_boot_s']} s; "
                f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms at "
                f"{figures['scheduled_rate']} msg/s; max {figures['max_msgs_per_s']} msg/s; "
                f"CALLERRORs {figures['call_errors']}"
            )
        ratio = summary["daphne"]["max_msgs_per_s"] / summary["bare"]["max_msgs_per_s"]
        print(f"max msg/s daphne / bare: {ratio:.2f}")
        if "mix" in summary:
            mixed = summary["mix"]["max_msgs_per_s"] / summary["daphne"]["max_msgs_per_s"]
            print(f"max msg/s half-2.0.1 mix / all-1.6 (same daphne): {mixed:.2f}")
        print(f"load average at the end: {Path('/proc/loadavg').read_text().split()[:3]}")
    finally:
        for server in servers:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
