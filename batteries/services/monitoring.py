"""Monitoring: abnormality rules evaluated as set-based queries over the fleet.

Each rule is one condition on the battery's current state against its model's thresholds
(``ModelThresholds``, else ``settings.BATTERIES_THRESHOLD_DEFAULTS``). A pass costs a fixed number
of queries whatever the fleet size: one UPDATE marking stale batteries offline, one SELECT
computing every rule for every battery in the database, one SELECT of their unresolved alerts, one
INSERT of the new alerts, one UPDATE resolving the cleared ones, one UPDATE of the changed flags.

Value rules look only at online batteries: an offline unit's last values are old news, so its
alerts stay as they were until it reports again. Temperature uses the charging thresholds while
power is negative (charging) and the discharging ones otherwise.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce
from django.utils import timezone

from ..models import (
    AlertRule,
    AlertSeverity,
    AlertStatus,
    Battery,
    BatteryAlert,
    BatteryFlag,
    BatteryStatus,
    ModelThresholds,
)
from ..sql import field_in

LAST_PASS_KEY = "batteries:monitoring:last-pass"  # noqa: S105 (a cache key)


def _with_thresholds(queryset: QuerySet) -> QuerySet:
    annotations = {}
    for name, default in settings.BATTERIES_THRESHOLD_DEFAULTS.items():
        per_model = ModelThresholds.objects.filter(
            vendor=OuterRef("vendor"), model=OuterRef("model")
        ).values(name)[:1]
        annotations[f"limit_{name}"] = Coalesce(
            Subquery(per_model), Value(float(default)), output_field=FloatField()
        )
    return queryset.annotate(**annotations, abs_power_kw=Abs("power_kw"))


_CHARGING = Q(power_kw__lt=0)


@dataclass(frozen=True)
class _Rule:
    rule: str
    severity: str
    condition: Q
    describe: str  # formatted with the battery's annotated values


_VALUE_RULES = [
    _Rule(
        AlertRule.TEMPERATURE_CRITICAL,
        AlertSeverity.CRITICAL,
        (_CHARGING & Q(temperature_c__gte=F("limit_charge_temperature_critical_c")))
        | (~_CHARGING & Q(temperature_c__gte=F("limit_discharge_temperature_critical_c"))),
        "Temperature {temperature_c} C is at or above the critical limit.",
    ),
    _Rule(
        AlertRule.TEMPERATURE_WARNING,
        AlertSeverity.WARNING,
        (
            _CHARGING
            & Q(temperature_c__gte=F("limit_charge_temperature_warning_c"))
            & Q(temperature_c__lt=F("limit_charge_temperature_critical_c"))
        )
        | (
            ~_CHARGING
            & Q(temperature_c__gte=F("limit_discharge_temperature_warning_c"))
            & Q(temperature_c__lt=F("limit_discharge_temperature_critical_c"))
        ),
        "Temperature {temperature_c} C is at or above the warning limit.",
    ),
    _Rule(
        AlertRule.SOC_BELOW_RESERVE,
        AlertSeverity.WARNING,
        Q(soc_percent__lt=F("min_soc_reserve")),
        "State of charge {soc_percent} % is below the reserve of {min_soc_reserve} %.",
    ),
    _Rule(
        AlertRule.VOLTAGE_OUT_OF_RANGE,
        AlertSeverity.WARNING,
        Q(voltage_v__lt=F("limit_voltage_min_v")) | Q(voltage_v__gt=F("limit_voltage_max_v")),
        "Voltage {voltage_v} V is outside {limit_voltage_min_v}-{limit_voltage_max_v} V.",
    ),
    _Rule(
        AlertRule.POWER_ABOVE_RATING,
        AlertSeverity.WARNING,
        Q(abs_power_kw__gt=F("limit_rated_power_kw")),
        "Power {power_kw} kW is above the rating of {limit_rated_power_kw} kW.",
    ),
]


_OFFLINE_RULE = _Rule(
    AlertRule.OFFLINE,
    AlertSeverity.WARNING,
    Q(),  # evaluated against the pass's cutoff in _evaluate
    "No telemetry since {last_seen:%Y-%m-%d %H:%M} UTC.",
)
_ALL_RULES = [_OFFLINE_RULE, *_VALUE_RULES]


@dataclass
class MonitoringResult:
    opened: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    went_offline: int = 0
    flags_changed: int = 0
    seconds: float = 0.0


def _evaluate(scope: QuerySet, cutoff: datetime) -> list[dict]:
    """One query: each seen battery's state, limits, and whether it breaks each rule."""
    online = ~Q(status=BatteryStatus.OFFLINE)
    breaks = {
        f"breaks_{rule.rule}": ExpressionWrapper(online & rule.condition, BooleanField())
        for rule in _VALUE_RULES
    }
    breaks[f"breaks_{AlertRule.OFFLINE}"] = ExpressionWrapper(
        Q(last_seen__lt=cutoff), BooleanField()
    )
    return list(
        _with_thresholds(scope.filter(last_seen__isnull=False))
        .annotate(**breaks)
        .values(
            "id",
            "status",
            "last_seen",
            "soc_percent",
            "power_kw",
            "voltage_v",
            "temperature_c",
            "min_soc_reserve",
            *(f"limit_{name}" for name in settings.BATTERIES_THRESHOLD_DEFAULTS),
            *breaks,
        )
    )


@transaction.atomic
def monitoring_run(
    *, battery_ids: list | None = None, now: datetime | None = None
) -> MonitoringResult:
    """Evaluate every monitoring rule for the given batteries (all when None): open an alert for
    each newly broken rule, resolve those no longer broken, mark stale batteries offline, and set
    each battery's flag to the worst of its reported flag and its unresolved alerts.

    A fixed number of queries whatever the fleet size: mark stale batteries offline; read every
    battery's rule results and its unresolved alerts; insert the new alerts; resolve the cleared
    ones; update the flags that change."""
    started = time.perf_counter()
    now = now or timezone.now()
    result = MonitoringResult()
    scope = Battery.objects.all()
    if battery_ids is not None:
        scope = scope.filter(field_in("pk", battery_ids, "uuid"))
    cutoff = now - timedelta(minutes=settings.BATTERIES_STALE_MINUTES)
    result.went_offline = (
        scope.filter(last_seen__lt=cutoff).exclude(status=BatteryStatus.OFFLINE)
    ).update(status=BatteryStatus.OFFLINE)

    rows = _evaluate(scope, cutoff)
    open_alerts = {
        (battery_id, rule): pk
        for pk, battery_id, rule in BatteryAlert.objects.filter(
            field_in("battery_id", [row["id"] for row in rows], "uuid")
        )
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("pk", "battery_id", "rule")
    }
    new_alerts, cleared = [], []
    result.opened = {rule.rule: 0 for rule in _ALL_RULES}
    result.resolved = {rule.rule: 0 for rule in _ALL_RULES}
    for row in rows:
        offline = row["status"] == BatteryStatus.OFFLINE
        for rule in _ALL_RULES:
            if offline and rule.rule != AlertRule.OFFLINE:
                continue  # an offline unit's last values are old news: leave its alerts be
            existing = open_alerts.get((row["id"], rule.rule))
            if row[f"breaks_{rule.rule}"] and existing is None:
                new_alerts.append(
                    BatteryAlert(
                        battery_id=row["id"],
                        rule=rule.rule,
                        severity=rule.severity,
                        message=rule.describe.format(**row)[:300],
                        opened_at=now,
                    )
                )
                result.opened[rule.rule] += 1
            elif not row[f"breaks_{rule.rule}"] and existing is not None:
                cleared.append(existing)
                result.resolved[rule.rule] += 1
    # A concurrent pass may have opened the same alert: the partial unique index keeps one.
    BatteryAlert.objects.bulk_create(new_alerts, batch_size=2000, ignore_conflicts=True)
    if cleared:
        BatteryAlert.objects.filter(field_in("pk", cleared, "bigint")).exclude(
            status=AlertStatus.RESOLVED
        ).update(status=AlertStatus.RESOLVED, resolved_at=now)

    result.flags_changed = _refresh_flags(scope)
    result.seconds = time.perf_counter() - started
    if battery_ids is None:
        cache.set(
            LAST_PASS_KEY,
            {"at": now.isoformat(), "seconds": round(result.seconds, 3)},
            timeout=None,
        )
    return result


def _refresh_flags(scope: QuerySet) -> int:
    unresolved = BatteryAlert.objects.filter(battery=OuterRef("pk")).exclude(
        status=AlertStatus.RESOLVED
    )
    worst = Case(
        When(
            Q(reported_flag=BatteryFlag.ERROR)
            | Exists(unresolved.filter(severity=AlertSeverity.CRITICAL)),
            then=Value(BatteryFlag.ERROR),
        ),
        When(
            Q(reported_flag=BatteryFlag.WARNING) | Exists(unresolved),
            then=Value(BatteryFlag.WARNING),
        ),
        default=Value(BatteryFlag.OK),
    )
    return scope.alias(worst_flag=worst).exclude(flag=F("worst_flag")).update(flag=worst)


@transaction.atomic
def alert_acknowledge(*, alert: BatteryAlert, by) -> BatteryAlert:
    """Staff have seen the alert. It stays unresolved (and in the flag) until the condition
    clears; acknowledging twice changes nothing."""
    alert = BatteryAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == AlertStatus.OPEN:
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = by
        alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    return alert
