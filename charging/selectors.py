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
