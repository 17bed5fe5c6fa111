"""A simulated home battery unit, as the batteries app sees one over MQTT (payloads described in
``batteries.mqtt``): it publishes ``<root>/<identifier>/telemetry``, obeys the commands it gets
on ``.../cmd`` until they expire, answers each on ``.../cmd/ack``, and now and then runs warm
enough for monitoring to raise an alert.

Left to itself (no instruction in force) it does what a unit's own control does: charges from
rooftop solar around midday and covers the evening peak, never below its reserve."""

import json
import math
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ACTIONS = ("charge", "discharge", "hold", "idle", "set_reserve")
DEFAULT_POWER_KW = 3.0
MAX_POWER_KW = 5.0  # the unit's inverter (monitoring's default rating)
# Roughly one warm spell an hour at a 10-second period: long enough to raise an alert.
WARM_SPELL_CHANCE = 1 / 360
WARM_SPELL = timedelta(minutes=3)
WARM_C = 47.0  # above the default 45 C charging warning, below the 55 C critical


@dataclass
class Instruction:
    instruction_id: str
    action: str
    power_kw: float | None
    reserve_soc: float | None
    expires_at: datetime


@dataclass
class SimulatedBattery:
    identifier: str
    capacity_kwh: float
    soc_percent: float = 55.0
    reserve_soc: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    instruction: Instruction | None = None
    warm_until: datetime | None = None
    # Commands arrive on the MQTT client's thread while the main thread steps the unit.
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- commands ------------------------------------------------------------------------

    def command(self, payload: bytes, now: datetime) -> dict:
        """Obey one command payload; the acknowledgement to publish. A refresh (the same
        instruction_id again) only moves its expiry."""
        try:
            data = json.loads(payload)
            instruction_id = str(data["instruction_id"])
        except (ValueError, KeyError, TypeError):
            return {"instruction_id": None, "result": "rejected", "reason": "unreadable command"}
        reason = self._refusal(data, now)
        if reason:
            return {"instruction_id": instruction_id, "result": "rejected", "reason": reason}
        expires_at = datetime.fromisoformat(data["expires_at"])
        if self.instruction and self.instruction.instruction_id == instruction_id:
            self.instruction.expires_at = expires_at
        else:
            self.instruction = Instruction(
                instruction_id=instruction_id,
                action=data["action"],
                power_kw=data.get("power_kw"),
                reserve_soc=data.get("reserve_soc"),
                expires_at=expires_at,
            )
        if data["action"] == "set_reserve" and data.get("reserve_soc") is not None:
            self.reserve_soc = float(data["reserve_soc"])
        return {"instruction_id": instruction_id, "result": "accepted"}

    @staticmethod
    def _refusal(data: dict, now: datetime) -> str:
        if data.get("action") not in ACTIONS:
            return f"unknown action {data.get('action')!r}"
        try:
            expires_at = datetime.fromisoformat(data["expires_at"])
        except (KeyError, TypeError, ValueError):
            return "expires_at is not an ISO 8601 time"
        if expires_at <= now:
            return "the instruction had expired when it arrived"
        power = data.get("power_kw")
        if power is not None and not 0 <= float(power) <= MAX_POWER_KW:
            return f"power_kw must be 0 to {MAX_POWER_KW} kW"
        return ""

    # ---- telemetry -----------------------------------------------------------------------

    def step(self, now: datetime, seconds: float, local_hour: float) -> dict:
        """Advance ``seconds`` and return the telemetry payload of ``now``."""
        if self.instruction and self.instruction.expires_at <= now:
            self.instruction = None  # back to its own control, as the protocol asks
        power_kw = self._power_kw(local_hour)
        self.soc_percent -= power_kw * seconds / 3600 / self.capacity_kwh * 100
        self.soc_percent = min(100.0, max(0.0, self.soc_percent))
        if self.warm_until is None and self.rng.random() < WARM_SPELL_CHANCE:
            self.warm_until = now + WARM_SPELL
        warm = self.warm_until is not None and now < self.warm_until
        if self.warm_until is not None and not warm:
            self.warm_until = None
        temperature = (WARM_C if warm else 24.0 + 4 * abs(power_kw)) + self.rng.gauss(0, 0.3)
        status = "charging" if power_kw < 0 else "discharging" if power_kw > 0 else "idle"
        return {
            "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "soc_percent": round(self.soc_percent, 1),
            "power_kw": round(power_kw, 2),
            "voltage_v": round(48.0 + 0.08 * self.soc_percent + self.rng.gauss(0, 0.1), 2),
            "temperature_c": round(temperature, 1),
            "status": status,
            "flag": "warning" if warm else "ok",
        }

    def _power_kw(self, local_hour: float) -> float:
        """Signed power: + discharging, - charging; zero at a full or reserve-empty pack."""
        wanted = self._wanted_kw(local_hour)
        if wanted < 0 and self.soc_percent >= 100:
            return 0.0
        if wanted > 0 and self.soc_percent <= self.reserve_soc:
            return 0.0
        return wanted

    def _wanted_kw(self, local_hour: float) -> float:
        instruction = self.instruction
        if instruction is not None and instruction.action != "set_reserve":
            power = DEFAULT_POWER_KW if instruction.power_kw is None else instruction.power_kw
            return {"charge": -power, "discharge": power}.get(instruction.action, 0.0)
        solar = max(0.0, math.sin((local_hour - 7) / 10 * math.pi)) if 7 < local_hour < 17 else 0
        if solar > 0.2:
            return -round(2.5 * solar, 2)
        if 16.5 <= local_hour < 21.5:
            return 1.2
        return 0.0
