"""Home batteries: the fleet registry, telemetry history, alerts, rules and instructions."""

from .alerts import AlertRule, AlertSeverity, AlertStatus, BatteryAlert
from .instructions import (
    ACTIVE_INSTRUCTION_STATUSES,
    BatteryInstruction,
    InstructionAction,
    InstructionRule,
    InstructionSource,
    InstructionStatus,
    TariffWindow,
)
from .registry import (
    PERCENT,
    Battery,
    BatteryFlag,
    BatteryReading,
    BatteryStatus,
    IdentifierCounter,
    ModelThresholds,
)

__all__ = [
    "ACTIVE_INSTRUCTION_STATUSES",
    "PERCENT",
    "AlertRule",
    "AlertSeverity",
    "AlertStatus",
    "Battery",
    "BatteryAlert",
    "BatteryFlag",
    "BatteryInstruction",
    "BatteryReading",
    "BatteryStatus",
    "IdentifierCounter",
    "InstructionAction",
    "InstructionRule",
    "InstructionSource",
    "InstructionStatus",
    "ModelThresholds",
    "TariffWindow",
]
