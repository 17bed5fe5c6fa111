"""EV chargers speaking OCPP 1.6J: the charger and its connectors, id tags, transactions, meter
samples, status history, the frame log, commands sent to chargers and what those commands manage
(reservations, charging profiles, the local authorization list).

The models are declared in the order they always were (chargers, then sessions, then operations,
which imports both): ``Charger``'s reverse relations, which ``charger_delete`` names when it
refuses, keep their order.
"""

from .chargers import (
    INT32_MAX,
    Charger,
    Connector,
    Registration,
    StatusNotification,
)
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
from .sessions import ENERGY_REGISTER, IdTag, MeterValue, Transaction

__all__ = [
    "ENERGY_REGISTER",
    "INT32_MAX",
    "Anomaly",
    "Charger",
    "ChargerCommand",
    "ChargingNode",
    "ChargingProfile",
    "CommandStatus",
    "Connector",
    "Direction",
    "IdTag",
    "LocalAuthListEntry",
    "MeterValue",
    "OcppMessage",
    "Registration",
    "Reservation",
    "ReservationStatus",
    "StatusNotification",
    "Transaction",
]
