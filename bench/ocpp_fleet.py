"""Simulated chargers for the OCPP benchmarks: a fleet of websockets, each speaking OCPP 1.6J
or 2.0.1 (``versions``), sending Heartbeat and MeterValues alternately, on a schedule or as fast
as they are answered. Raw OCPP-J frames: the fleet costs the machine as little as possible."""

import asyncio
import base64
import json
import time
from datetime import UTC, datetime

PASSWORD = "0123456789abcdef0123456789abcdef01234567"  # noqa: S105 - throw-away bench chargers
SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
BOOTS = {
    "1.6": {"chargePointVendor": "Bench", "chargePointModel": "Sim"},
    "2.0.1": {"chargingStation": {"vendorName": "Bench", "model": "Sim"}, "reason": "PowerUp"},
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def meter_values(version: str, n: int) -> dict:
    """The same two samples (energy register in Wh, power in kW) in each version's shape."""
    if version == "1.6":
        samples = [
            {"value": str(1000 + n), "unit": "Wh"},
            {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
        ]
        return {"connectorId": 1, "meterValue": [{"timestamp": now(), "sampledValue": samples}]}
    samples = [
        {"value": 1000 + n, "unitOfMeasure": {"unit": "Wh"}},
        {"value": 7.2, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}},
    ]
    return {"evseId": 1, "meterValue": [{"timestamp": now(), "sampledValue": samples}]}


class Fleet:
    def __init__(
        self, url: str, charge_point_ids: list[str], versions: dict[str, str] | None = None
    ):
        self.url = url
        self.ids = charge_point_ids
        self.versions = versions or {}
        self.sockets = {}
        self.sequence = 0
        self.errors = 0

    def version(self, charge_point_id: str) -> str:
        return self.versions.get(charge_point_id, "1.6")

    async def connect_all(self, concurrency: int = 100) -> float:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(concurrency)

        async def one(charge_point_id):
            token = base64.b64encode(f"{charge_point_id}:{PASSWORD}".encode()).decode()
            version = self.version(charge_point_id)
            async with gate:
                websocket = await connect(
                    f"{self.url}/{charge_point_id}",
                    subprotocols=[SUBPROTOCOLS[version]],
                    additional_headers={"Authorization": f"Basic {token}"},
                    ping_interval=None,
                    open_timeout=60,
                )
                self.sockets[charge_point_id] = websocket
                await self.call(charge_point_id, "BootNotification", BOOTS[version])

        started = time.perf_counter()
        await asyncio.gather(*(one(charge_point_id) for charge_point_id in self.ids))
        return time.perf_counter() - started

    async def call(self, charge_point_id: str, action: str, payload: dict) -> float:
        self.sequence += 1
        websocket = self.sockets[charge_point_id]
        started = time.perf_counter()
        await websocket.send(json.dumps([2, str(self.sequence), action, payload]))
        answer = json.loads(await websocket.recv())
        elapsed = time.perf_counter() - started
        if answer[0] != 3:
            self.errors += 1
        return elapsed

    def message(self, charge_point_id: str, n: int) -> tuple[str, dict]:
        if n % 2 == 0:
            return "Heartbeat", {}
        return "MeterValues", meter_values(self.version(charge_point_id), n)

    async def scheduled(self, rate: float, seconds: float) -> list[float]:
        """Each charger sends every len(fleet)/rate seconds, phases spread evenly."""
        period = len(self.ids) / rate
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def one(index, charge_point_id):
            next_at = time.perf_counter() + period * index / len(self.ids)
            n = 0
            while True:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                if time.perf_counter() >= deadline:
                    return
                latencies.append(
                    await self.call(charge_point_id, *self.message(charge_point_id, n))
                )
                n += 1
                next_at += period

        await asyncio.gather(*(one(i, cp) for i, cp in enumerate(self.ids)))
        return latencies

    async def closed_loop(self, seconds: float) -> tuple[int, float]:
        deadline = time.perf_counter() + seconds
        answered = 0

        async def one(charge_point_id):
            nonlocal answered
            n = 0
            while time.perf_counter() < deadline:
                await self.call(charge_point_id, *self.message(charge_point_id, n))
                answered += 1
                n += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(cp) for cp in self.ids))
        return answered, time.perf_counter() - started

    async def close(self):
        await asyncio.gather(*(ws.close() for ws in self.sockets.values()), return_exceptions=True)
