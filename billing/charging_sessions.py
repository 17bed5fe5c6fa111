"""The seam to the charging app: finished charging sessions of accounts in a period, read
through charging.selectors.

Billing works without the charging app (it answers no sessions then). A session is billed in
the month in which it stopped (local time), at the charging prices of the tariff the account is
on that day (on a dynamic tariff, its energy at each half-hour's rate: services/session_pricing.py);
idle minutes run from the first sample at which the session's energy register reached its final
value until the session stopped.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.apps import apps


@dataclass(frozen=True)
class Session:
    transaction_id: int
    account_id: int
    charger: str
    started_at: datetime
    stopped_at: datetime
    energy_kwh: Decimal
    idle_minutes: int


def sessions_for_accounts(
    *, account_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[Session]]:
    if not apps.is_installed("charging"):
        return {}
    # Imported here: charging's models cannot be imported when the app is not installed.
    from charging import selectors as charging_selectors

    rows = charging_selectors.transactions_stopped_for_accounts(
        account_ids=account_ids, start=start, end=end
    )
    if not rows:
        return {}
    reached = charging_selectors.energy_register_final_reached_at(
        transaction_ids=[row[0] for row in rows]
    )
    sessions: dict[int, list[Session]] = {}
    for pk, account_id, charger, started_at, stopped_at, energy_kwh in rows:
        idle_from = reached.get(pk)
        idle = 0
        if idle_from is not None and idle_from < stopped_at:
            idle = int((stopped_at - idle_from).total_seconds() // 60)
        sessions.setdefault(account_id, []).append(
            Session(pk, account_id, charger, started_at, stopped_at, energy_kwh, idle)
        )
    return sessions


def session_transactions(*, transaction_ids: list[int]) -> dict[int, Any]:
    """The charging app's sessions by pk, with their charger and its account: what
    ``session_register_wh`` and a savings provider (billing.registry) take."""
    if not transaction_ids or not apps.is_installed("charging"):
        return {}
    from charging import selectors as charging_selectors

    return charging_selectors.transactions_by_id(transaction_ids=transaction_ids)


def session_register_wh(*, transaction) -> list[tuple[datetime, Decimal]]:
    """The session's energy register over time (Wh), from its start to its stop, by charging's
    own reading of its MeterValues (never going down)."""
    from charging import selectors as charging_selectors

    return charging_selectors.transaction_register_wh(transaction=transaction)
