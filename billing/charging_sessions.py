"""The seam to the charging app: finished charging sessions of accounts in a period, read
through charging.selectors.

Billing works without the charging app (it answers no sessions then). A session is billed in
the month in which it stopped (local time), at the charging prices of the tariff the account is
on that day; idle minutes run from the first sample at which the session's energy register
reached its final value until the session stopped.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

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
