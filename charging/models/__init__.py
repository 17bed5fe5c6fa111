"""EV chargers speaking OCPP 1.6J or 2.0.1: the charger and its connectors, id tags,
transactions, meter samples, status history, the frame log, commands sent to chargers and what
those commands manage (reservations, charging profiles, the local authorization list), and a
2.0.1 station's device model and notified events.

The models are declared in the order they always were (chargers, then sessions, then operations,
which imports both): ``Charger``'s reverse relations, which ``charger_delete`` names when it
refuses, keep their order.
"""

from .chargers import (
    INT32_MAX,
    Charger,
    Connector,
    OcppVersion,
    Registration,
    StatusNotification,
)
from .device import ChargerEvent, DeviceModelVariable
from .operations import (
    Anomaly,
    ChargerCommand,
    ChargingNode,
    ChargingProfile,
    CommandStatus,
    Direction,
    LocalAuthListEntry,
    OcppMessage,
    Reservation,
    ReservationStatus,
)
from .sessions import (
    ENERGY_REGISTER,
    TRANSACTION_UID_MAX,
    IdTag,
    MeterValue,
    Transaction,
    TransactionEvent,
)

__all__ = [
    "ENERGY_REGISTER",
    "INT32_MAX",
    "TRANSACTION_UID_MAX",
    "Anomaly",
    "Charger",
    "ChargerCommand",
    "ChargerEvent",
    "ChargingNode",
    "ChargingProfile",
    "CommandStatus",
    "Connector",
    "DeviceModelVariable",
    "Direction",
    "IdTag",
    "LocalAuthListEntry",
    "MeterValue",
    "OcppMessage",
    "OcppVersion",
    "Registration",
    "Reservation",
    "ReservationStatus",
    "StatusNotification",
    "Transaction",
    "TransactionEvent",
]
