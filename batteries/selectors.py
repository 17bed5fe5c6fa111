"""Reads of the batteries app, scoped to the requesting user (staff: all; customers: their
accounts' batteries; anyone else: none)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, Func, Max, Min, Q, QuerySet
from django.db.models.fields import DateTimeField
from django.utils import timezone

from accounts.models import User
from accounts.permissions import scope_to_user
from config.exceptions import ApplicationError, NotFound

from .conditions import rule_applies_to
from .models import (
    ACTIVE_INSTRUCTION_STATUSES,
    AlertStatus,
    Battery,
    BatteryAlert,
    BatteryInstruction,
    BatteryReading,
    InstructionRule,
)
from .sql import field_in

# When the monitoring pass last ran (written by it, shown on /status).
LAST_PASS_KEY = "batteries:monitoring:last-pass"  # noqa: S105 (a cache key)


def battery_list(*, user: User, filters: dict | None = None) -> QuerySet:
    """Filters: ``identifier`` and ``location`` (prefix, any case), ``status``, ``flag``,
    ``account`` (account number)."""
    filters = filters or {}
    queryset = scope_to_user(Battery.objects.select_related("account"), user)
    if filters.get("identifier"):
        queryset = queryset.filter(identifier__istartswith=filters["identifier"])
    if filters.get("location"):
        queryset = queryset.filter(location__istartswith=filters["location"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("flag"):
        queryset = queryset.filter(flag=filters["flag"])
    if filters.get("account"):
        queryset = queryset.filter(account__account_number=filters["account"])
    return queryset.order_by("identifier")


def battery_get(*, user: User, key: str) -> Battery:
    """By UUID or by identifier; NotFound also for a battery the user may not see."""
    try:
        lookup = Q(pk=uuid.UUID(key))
    except ValueError:
        lookup = Q(identifier=key.upper())
    battery = battery_list(user=user).filter(lookup).first()
    if battery is None:
        raise NotFound(f"No battery {key}.")
    return battery


def batteries_by_key(*, user: User, keys: list[str]) -> dict[str, Battery]:
    """Each key (a UUID or an identifier, any case) that names a battery the user may see,
    mapped to it, in two queries whatever the number of keys. Only the batteries' id and
    identifier are loaded: telemetry ingest, which calls this for thousands of keys, reads the
    rest under its own row locks."""
    uuids, identifiers = {}, {}
    for key in set(keys):
        try:
            uuids[uuid.UUID(key)] = key
        except ValueError:
            identifiers.setdefault(key.upper(), []).append(key)
    visible = battery_list(user=user).select_related(None).only("id", "identifier").order_by()
    found: dict[str, Battery] = {}
    for battery in visible.filter(field_in("pk", uuids, "uuid")):
        found[uuids[battery.pk]] = battery
    for battery in visible.filter(field_in("identifier", identifiers, "text")):
        for key in identifiers[battery.identifier]:
            found[key] = battery
    return found


class _Bucket(Func):
    """The start of the ``seconds``-long bucket (aligned to the Unix epoch) holding ``at``."""

    output_field = DateTimeField()

    def __init__(self, expression, seconds: int):
        super().__init__(expression)
        self.seconds = int(seconds)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"to_timestamp(floor(extract(epoch from {sql}) / {self.seconds}) * {self.seconds})",
            params,
        )

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"datetime((CAST(strftime('%%s', {sql}) AS INTEGER) / {self.seconds}) "
            f"* {self.seconds}, 'unixepoch')",
            params,
        )


MAX_HISTORY_POINTS = 10_000


@dataclass(frozen=True)
class History:
    points: list[dict]
    bucket_seconds: int | None
    next_after: datetime | None


def reading_history(
    *,
    battery: Battery,
    start: datetime | None = None,
    end: datetime | None = None,
    after: datetime | None = None,
    bucket_seconds: int | None = None,
    limit: int = 1000,
) -> History:
    """Readings in [start, end) (default: the last 24 hours), only those after ``after`` when
    given (for polling: pass the previous answer's ``next_after``). With ``bucket_seconds`` the
    readings are averaged per bucket (temperature: its maximum too) for charts."""
    end = end or timezone.now()
    start = start or end - timedelta(hours=24)
    if start >= end:
        raise ApplicationError("start must be before end.", field="start")
    if not 1 <= limit <= MAX_HISTORY_POINTS:
        raise ApplicationError(f"limit is 1 to {MAX_HISTORY_POINTS}.", field="limit")
    readings = BatteryReading.objects.filter(battery=battery, at__gte=start, at__lt=end)
    if after is not None:
        readings = readings.filter(at__gt=after)
    if bucket_seconds is None:
        rows = list(
            readings.order_by("at").values(
                "at", "soc_percent", "power_kw", "voltage_v", "temperature_c", "status", "flag"
            )[: limit + 1]
        )
    else:
        if not 60 <= bucket_seconds <= 7 * 86400:
            raise ApplicationError("bucket is 60 s to 7 days.", field="bucket")
        rows = list(
            readings.annotate(bucket=_Bucket("at", bucket_seconds))
            .values("bucket")
            .annotate(
                avg_soc_percent=Avg("soc_percent"),
                avg_power_kw=Avg("power_kw"),
                avg_voltage_v=Avg("voltage_v"),
                avg_temperature_c=Avg("temperature_c"),
                temperature_max_c=Max("temperature_c"),
                readings=Count("id"),
                last_at=Max("at"),
            )
            .order_by("bucket")[: limit + 1]
        )
        for row in rows:
            row["at"] = row.pop("bucket")
            for name in ("soc_percent", "power_kw", "voltage_v", "temperature_c"):
                row[name] = row.pop(f"avg_{name}")
            if timezone.is_naive(row["at"]):
                row["at"] = timezone.make_aware(row["at"], UTC)
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = None
    if more and rows:
        next_after = rows[-1].get("last_at") or rows[-1]["at"]
    return History(points=rows, bucket_seconds=bucket_seconds, next_after=next_after)


def battery_alerts(*, battery: Battery, unresolved_only: bool = False) -> QuerySet:
    alerts = BatteryAlert.objects.filter(battery=battery)
    if unresolved_only:
        alerts = alerts.exclude(status=AlertStatus.RESOLVED)
    return alerts.order_by("-opened_at")


def battery_instructions(*, battery: Battery) -> QuerySet:
    return BatteryInstruction.objects.filter(battery=battery).select_related("rule")


def rules_for_battery(*, battery: Battery) -> list[InstructionRule]:
    """The enabled rules whose scope includes the battery, strongest first."""
    candidates = InstructionRule.objects.filter(enabled=True).filter(
        Q(battery=battery) | Q(account_id=battery.account_id) | ~Q(identifier_prefix="")
    )
    return [
        rule
        for rule in candidates.select_related("battery", "account").order_by(
            "-priority", "created_at"
        )
        if rule_applies_to(rule, battery)
    ]


def rule_list() -> QuerySet:
    return InstructionRule.objects.select_related("battery", "account").order_by(
        "-priority", "created_at"
    )


def fleet_status() -> dict:
    """Figures for /status: the fleet by status and flag, open alerts, instructions in force,
    the last full monitoring pass."""
    from django.core.cache import cache

    by_status = dict(Battery.objects.values_list("status").annotate(n=Count("pk")))
    by_flag = dict(Battery.objects.values_list("flag").annotate(n=Count("pk")))
    stale_before = timezone.now() - timedelta(minutes=settings.BATTERIES_STALE_MINUTES)
    return {
        "batteries": sum(by_status.values()),
        "by_status": by_status,
        "by_flag": by_flag,
        "silent_for_stale_period": Battery.objects.filter(last_seen__lt=stale_before).count(),
        "unresolved_alerts": BatteryAlert.objects.exclude(status=AlertStatus.RESOLVED).count(),
        "instructions_in_force": BatteryInstruction.objects.filter(
            status__in=ACTIVE_INSTRUCTION_STATUSES
        ).count(),
        # From the registry, not the history: a max over all readings would scan the history.
        **Battery.objects.aggregate(
            newest_telemetry=Max("last_seen"), oldest_telemetry=Min("last_seen")
        ),
        "last_monitoring_pass": cache.get(LAST_PASS_KEY),
    }


def battery_alerts_open(*, limit: int = 20) -> QuerySet:
    """Unresolved alerts across the whole fleet, newest first, with their battery: the staff
    operations page (battery_alerts is per battery)."""
    return (
        BatteryAlert.objects.exclude(status=AlertStatus.RESOLVED)
        .select_related("battery")
        .order_by("-opened_at")[:limit]
    )
