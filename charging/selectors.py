"""Reads of the charging app, scoped to the requesting user."""

from datetime import datetime
from decimal import Decimal

from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Min, Q, QuerySet

from accounts.models import User
from accounts.permissions import scope_to_user
from config.exceptions import NotFound

from .models import ENERGY_REGISTER, Charger, ChargerCommand, IdTag, MeterValue, Transaction


def chargers_for_user(*, user: User) -> QuerySet[Charger]:
    return scope_to_user(Charger.objects.all(), user).prefetch_related("connectors")


def charger_for_user(*, user: User, charger_id: int) -> Charger:
    charger = chargers_for_user(user=user).filter(pk=charger_id).first()
    if charger is None:
        raise NotFound("No such charger.")
    return charger


def id_tags_for_user(*, user: User) -> QuerySet[IdTag]:
    """Staff: every tag. Customers: their accounts' tags."""
    return scope_to_user(IdTag.objects.select_related("account", "parent"), user)


def id_tag_for_user(*, user: User, tag_id: int) -> IdTag:
    tag = id_tags_for_user(user=user).filter(pk=tag_id).first()
    if tag is None:
        raise NotFound("No such id tag.")
    return tag


def transactions_for_user(*, user: User) -> QuerySet[Transaction]:
    """A customer sees the sessions billed to their account and every session on their own
    chargers; a visitor's session on their charger is marked ``is_visitor``, and its tag and
    account (a visitor's credential and identity) are not shown to the owner."""
    rows = Transaction.objects.select_related("charger", "tag")
    if user.is_authenticated and user.is_active and user.is_customer:
        mine = user.customer_accounts.all()
        return (
            rows.filter(Q(account__in=mine) | Q(charger__account__in=mine))
            .annotate(
                is_visitor=ExpressionWrapper(
                    ~Q(account__in=mine) | Q(account__isnull=True), output_field=BooleanField()
                )
            )
            .distinct()
        )
    return scope_to_user(rows, user)


def commands_for_user(*, user: User) -> QuerySet[ChargerCommand]:
    """Staff: every command. Customers: the commands they sent themselves (staff's commands to
    their charger carry tag lists and configuration that are not theirs to read)."""
    rows = scope_to_user(
        ChargerCommand.objects.select_related("charger"), user, account_path="charger__account"
    )
    return rows.filter(requested_by=user) if user.is_authenticated and user.is_customer else rows


def charger_counts() -> dict:
    counts = Charger.objects.aggregate(
        total=Count("pk"),
        connected=Count("pk", filter=Q(connected=True)),
        pending=Count("pk", filter=Q(registration="Pending")),
    )
    counts["offline"] = counts["total"] - counts["connected"]
    counts["active_transactions"] = Transaction.objects.filter(stopped_at__isnull=True).count()
    return counts


# Reads for billing: system reads, not scoped to a user (a bill run prices every account).


def transactions_stopped_for_accounts(
    *, account_ids: list[int], start: datetime, end: datetime
) -> list[tuple[int, int, str, datetime, datetime, Decimal]]:
    """Sessions of ``account_ids`` that stopped in [start, end) with a metered energy, in the
    order they stopped: (pk, account_id, charge_point_id, started_at, stopped_at, energy_kwh)."""
    return list(
        Transaction.objects.filter(
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


def energy_register_final_reached_at(*, transaction_ids: list[int]) -> dict[int, datetime]:
    """For each session with energy register samples, the first time its register reached its
    final (highest) value: after that the car drew nothing more."""
    energy_samples = MeterValue.objects.filter(
        transaction_id__in=transaction_ids,
        measurand=ENERGY_REGISTER,
        numeric__isnull=False,
    )
    final = dict(
        energy_samples.values("transaction_id")
        .annotate(top=Max("numeric"))
        .values_list("transaction_id", "top")
    )
    reached: dict[int, datetime] = {}
    if final:
        # One query: the first time each session's register held each value.
        candidates = (
            energy_samples.values("transaction_id", "numeric")
            .annotate(first_at=Min("sampled_at"))
            .values_list("transaction_id", "numeric", "first_at")
        )
        for transaction_id, numeric, first_at in candidates:
            if numeric == final.get(transaction_id):
                reached[transaction_id] = first_at
    return reached


# Reads for the flex planner (load management and smart-charging outcomes): system reads of a
# charger the caller already holds (scoped by charger_for_user), not scoped again.


def transactions_by_id(*, transaction_ids: list[int]) -> dict[int, Transaction]:
    """These sessions by pk, with their charger and its account (billing prices several at
    once; each one's register is ``transaction_register_wh``)."""
    return Transaction.objects.select_related("charger__account").in_bulk(transaction_ids)


def charger_live_power_w(*, charger: Charger) -> int:
    """What the charger draws now, by its connectors' last MeterValues (W); 0 when unknown."""
    powers = charger.connectors.filter(live_power_w__isnull=False).values_list(
        "live_power_w", flat=True
    )
    return round(sum(powers, Decimal(0)))


def vehicle_soc_latest(*, charger: Charger, connector_id: int) -> Decimal | None:
    """The car's last reported state of charge in % (MeterValues measurand SoC), if any."""
    sample = (
        MeterValue.objects.filter(
            charger=charger, connector_id=connector_id, measurand="SoC", numeric__isnull=False
        )
        .order_by("-sampled_at", "-pk")
        .first()
    )
    return None if sample is None else sample.numeric


def transactions_stopped_for_charger(
    *, charger: Charger, connector_id: int | None = None, limit: int = 10
) -> list[Transaction]:
    """The charger's finished sessions with a metered energy, the latest first."""
    rows = Transaction.objects.filter(
        charger=charger, stopped_at__isnull=False, meter_stop_wh__isnull=False
    )
    if connector_id is not None:
        rows = rows.filter(connector_id=connector_id)
    return list(rows.order_by("-stopped_at", "-pk")[:limit])


def transaction_register_wh(*, transaction: Transaction) -> list[tuple[datetime, Decimal]]:
    """The session's energy register over time (Wh, a kWh sample converted), from its start to
    its stop: the meter start, every register sample in between, the meter stop, in time order
    and never going down (a sample below an earlier one is dropped: a register does not fall)."""
    points = [(transaction.started_at, Decimal(transaction.meter_start_wh))]
    samples = MeterValue.objects.filter(
        transaction=transaction, measurand=ENERGY_REGISTER, numeric__isnull=False, phase=""
    ).order_by("sampled_at", "pk")
    for at, value, unit in samples.values_list("sampled_at", "numeric", "unit"):
        wh = value * 1000 if unit == "kWh" else value
        inside = transaction.started_at < at and (
            transaction.stopped_at is None or at < transaction.stopped_at
        )
        if inside and wh >= points[-1][1]:
            points.append((at, wh))
    if transaction.stopped_at is not None and transaction.meter_stop_wh is not None:
        points.append(
            (transaction.stopped_at, max(Decimal(transaction.meter_stop_wh), points[-1][1]))
        )
    return points
