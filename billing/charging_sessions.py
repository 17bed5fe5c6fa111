"""The seam to the charging app: finished charging sessions of accounts in a period.

Billing works without the charging app (it answers no sessions then). A session is billed in
the month in which it stopped (local time), at the charging prices of the tariff the account is
on that day; idle minutes run from the first sample at which the session's energy register
reached its final value until the session stopped.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.apps import apps
from django.db.models import Max, Min


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
    try:
        transaction_model = apps.get_model("charging", "Transaction")
        meter_value_model = apps.get_model("charging", "MeterValue")
    except LookupError:
        return {}
    rows = list(
        transaction_model.objects.filter(
            account_id__in=account_ids,
            stopped_at__gte=start,
            stopped_at__lt=end,
            energy_kwh__isnull=False,
        )
        .order_by("stopped_at", "pk")
        .values_list(
            "pk", "account_id", "charger__charge_point_id", "started_at", "stopped_at", "energy_kwh"
        )
    )
    if not rows:
        return {}
    energy_samples = meter_value_model.objects.filter(
        transaction_id__in=[row[0] for row in rows],
        measurand="Energy.Active.Import.Register",
        numeric__isnull=False,
    )
    final = dict(
        energy_samples.values("transaction_id")
        .annotate(top=Max("numeric"))
        .values_list("transaction_id", "top")
    )
    reached: dict[int, datetime] = {}
    if final:
        # One query: the first time each session's register reached its final value.
        candidates = (
            energy_samples.values("transaction_id", "numeric")
            .annotate(first_at=Min("sampled_at"))
            .values_list("transaction_id", "numeric", "first_at")
        )
        for transaction_id, numeric, first_at in candidates:
            if numeric == final.get(transaction_id):
                reached[transaction_id] = first_at
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
