"""The flexibility planner: prices and constraints in, a schedule out. Pure (no database, no
Django): the services feed it arrays of half-hour slots and store what it says.

A planning horizon is a list of half-hour slots, as many as the local days it covers have (46,
48 or 50 a day in Europe/London): slot ``i`` is the half-hour starting ``i`` half-hours after the
horizon's start. Energy is in Wh (integers), power in W, prices in pence per kWh (``Decimal``;
``None`` for a half-hour with no price). Each planner has a one-item form (``plan_ev``,
``plan_battery``: Decimals in, Decimals out) and a fleet form over numpy arrays
(``plan_ev_fleet``, ``plan_battery_fleet``), which the one-item form calls, so the benchmark
measures the code the services run.
"""

from .battery import BatteryPlan, BatteryRequest, plan_battery, plan_battery_fleet
from .ev import EvPlan, EvRequest, plan_ev, plan_ev_fleet
from .prices import prices_as_array

__all__ = [
    "BatteryPlan",
    "BatteryRequest",
    "EvPlan",
    "EvRequest",
    "plan_battery",
    "plan_battery_fleet",
    "plan_ev",
    "plan_ev_fleet",
    "prices_as_array",
]
