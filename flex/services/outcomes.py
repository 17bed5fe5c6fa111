"""After a session: what it cost and what smart charging saved.

A finished session's energy is spread over the half-hours it ran in by its energy register
(the meter start, every register sample, the meter stop; linear between samples) and priced at
the household's half-hourly import prices, VAT included: what the planner minimises. The
reference is charging now: the same energy from the session's start at the goal's power, as a
charger without a plan would deliver it, at the same prices. Saved = that minus the cost.
Half-hours without a price are left out of both and their energy reported (``unpriced_wh``).

These figures are worked out when asked (a page, the API), not stored: they follow from what the
charger reported and the price feed, so a late price or sample corrects them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from billing.registry import SessionSaving
from charging import selectors as charging_selectors
from charging.models import Transaction
from meters.timeutils import HALF_HOUR

from ..models import ChargingGoal
from ..planner import EvRequest, plan_ev
from ..planner.prices import slot_cost
from . import sources
from .horizon import Horizon, slot_floor

SESSIONS_SHOWN = 10

PricesFor = Callable[[datetime, datetime], list[Decimal | None]]


@dataclass(frozen=True)
class SessionOutcome:
    transaction_id: int
    connector_id: int
    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    cost_pence: Decimal
    charge_now_cost_pence: Decimal
    unpriced_wh: int

    @property
    def saved_pence(self) -> Decimal:
        return self.charge_now_cost_pence - self.cost_pence


def _energy_per_slot(points, horizon: Horizon) -> list[int]:
    """Wh per half-hour of ``horizon`` by the register (linear between its points)."""
    seconds = np.array([at.timestamp() for at, _ in points])
    register = np.array([float(wh) for _, wh in points])
    edges = np.array([horizon.slot_start(k).timestamp() for k in range(horizon.slots + 1)])
    cumulative = np.round(np.interp(edges, seconds, register) - register[0])
    return [int(wh) for wh in np.diff(cumulative)]


def _reference_horizon(transaction: Transaction, energy: int, max_power_w: int) -> Horizon:
    """The half-hours from the session's start long enough for charging now at max power to
    deliver its energy (and at least until it stopped)."""
    starts_at = slot_floor(transaction.started_at)
    full_hours = energy / max(max_power_w, 1)
    until = max(transaction.stopped_at, transaction.started_at + HALF_HOUR * (2 * full_hours + 1))
    slots = int((until - starts_at) / HALF_HOUR) + 1
    return Horizon(now=transaction.started_at, starts_at=starts_at, slots=slots)


def session_outcome(
    *, transaction: Transaction, max_power_w: int, prices: PricesFor | None = None
) -> SessionOutcome:
    """A finished session's cost and its charging-now reference (see the module's docstring).
    ``prices(start, end)``: the household's pence per half-hour, when the caller has them."""
    points = charging_selectors.transaction_register_wh(transaction=transaction)
    energy = int(points[-1][1] - points[0][1])
    horizon = _reference_horizon(transaction, energy, max_power_w)
    slots = horizon.slots
    account = transaction.charger.account
    if account is None:
        slot_prices = [None] * slots
    elif prices is not None:
        slot_prices = prices(horizon.starts_at, horizon.ends_at)
    else:
        slot_prices = sources.prices_pence(
            account=account, start=horizon.starts_at, end=horizon.ends_at
        )
    used = _energy_per_slot(points, horizon)
    cost, unpriced = slot_cost(used, slot_prices)
    headroom = [max_power_w] * slots
    headroom[0] = int(max_power_w * horizon.first_slot_fraction)
    now_plan = plan_ev(
        EvRequest(
            prices=slot_prices,
            energy_wh=energy,
            ready_by=slots,
            max_power_w=max_power_w,
            headroom_w=headroom,
        ),
        immediate=True,
    )
    return SessionOutcome(
        transaction_id=transaction.pk,
        connector_id=transaction.connector_id,
        started_at=transaction.started_at,
        stopped_at=transaction.stopped_at,
        energy_wh=energy,
        cost_pence=cost,
        charge_now_cost_pence=now_plan.cost_pence,
        unpriced_wh=max(unpriced, now_plan.unpriced_wh),
    )


def session_outcomes(*, goal: ChargingGoal, limit: int = SESSIONS_SHOWN) -> list[SessionOutcome]:
    """The goal's charger's latest finished sessions on its connector, the latest first."""
    sessions = charging_selectors.transactions_stopped_for_charger(
        charger=goal.charger, connector_id=goal.connector_id, limit=limit
    )
    return [session_outcome(transaction=row, max_power_w=goal.max_power_w) for row in sessions]


def session_savings_for_bill(*, transactions: list[Transaction]) -> dict[int, SessionSaving]:
    """For billing's registry (registered in ``FlexConfig.ready``): what smart charging saved in
    each of ``transactions`` that ran on a goal's connector, the same figure as the goal's
    sessions list (``session_outcomes``) gives; other sessions are left out. The household's
    prices are read once for all its sessions (a bill has a month of them)."""
    goals = {
        goal.charger_id: goal
        for goal in ChargingGoal.objects.filter(
            charger_id__in={transaction.charger_id for transaction in transactions}
        )
    }
    planned = [
        (transaction, goals[transaction.charger_id])
        for transaction in transactions
        if transaction.charger_id in goals
        and goals[transaction.charger_id].connector_id == transaction.connector_id
    ]
    prices_of = _prices_once(planned)
    savings: dict[int, SessionSaving] = {}
    for transaction, goal in planned:
        outcome = session_outcome(
            transaction=transaction,
            max_power_w=goal.max_power_w,
            prices=prices_of.get(transaction.charger.account_id),
        )
        savings[transaction.pk] = SessionSaving(
            saved_pence=outcome.saved_pence, unpriced_wh=outcome.unpriced_wh
        )
    return savings


def _prices_once(planned: list[tuple[Transaction, ChargingGoal]]) -> dict[int, PricesFor]:
    """Per household, its prices over every planned session's reference half-hours (by the
    sessions' meter start and stop), read once, as a ``prices(start, end)`` that slices them."""
    spans: dict[int, list[datetime]] = {}
    accounts = {}
    for transaction, goal in planned:
        account = transaction.charger.account
        if account is None:
            continue
        energy = max((transaction.meter_stop_wh or 0) - transaction.meter_start_wh, 0)
        horizon = _reference_horizon(transaction, energy, goal.max_power_w)
        accounts[account.pk] = account
        span = spans.setdefault(account.pk, [horizon.starts_at, horizon.ends_at])
        span[0], span[1] = min(span[0], horizon.starts_at), max(span[1], horizon.ends_at)
    return {pk: _sliced(accounts[pk], start, end) for pk, (start, end) in spans.items()}


def _sliced(account, start: datetime, end: datetime) -> PricesFor:
    prices = sources.prices_pence(account=account, start=start, end=end)

    def prices_for(first: datetime, last: datetime) -> list[Decimal | None]:
        if first < start or last > end:
            # A register sample above the meter stop made the session longer: read its own.
            return sources.prices_pence(account=account, start=first, end=last)
        offset = int((first - start) / HALF_HOUR)
        return prices[offset : offset + int((last - first) / HALF_HOUR)]

    return prices_for
