"""Monitoring: abnormality rules evaluated as set-based queries over the fleet.

Each rule is one condition on the battery's current state against its model's thresholds
(``ModelThresholds``, else ``settings.BATTERIES_THRESHOLD_DEFAULTS``). A pass costs a fixed number
of queries whatever the fleet size: per rule one SELECT of the batteries that newly break it (to
open their alerts in one INSERT) and one UPDATE resolving the alerts of batteries that no longer
do; then one UPDATE for stale batteries and one for flags.

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
    Case,
    Exists,
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


@dataclass
class MonitoringResult:
    opened: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    went_offline: int = 0
    flags_changed: int = 0
    seconds: float = 0.0


def _unresolved(rule: str) -> QuerySet:
    return BatteryAlert.objects.filter(rule=rule).exclude(status=AlertStatus.RESOLVED)


def _apply_rule(
    *,
    rule: _Rule,
    evaluated: QuerySet,
    now: datetime,
    result: MonitoringResult,
) -> None:
    breaking = evaluated.filter(rule.condition)
    newly = breaking.filter(~Exists(_unresolved(rule.rule).filter(battery=OuterRef("pk")))).values()
    alerts = [
        BatteryAlert(
            battery_id=row["id"],
            rule=rule.rule,
            severity=rule.severity,
            message=rule.describe.format(**row)[:300],
            opened_at=now,
        )
        for row in newly
    ]
    # A concurrent pass may have opened the same alert: the partial unique index keeps one.
    BatteryAlert.objects.bulk_create(alerts, batch_size=2000, ignore_conflicts=True)
    result.opened[rule.rule] = len(alerts)
    result.resolved[rule.rule] = (
        _unresolved(rule.rule)
        .filter(battery__in=evaluated.values("pk"))
        .exclude(battery__in=breaking.values("pk"))
        .update(status=AlertStatus.RESOLVED, resolved_at=now)
    )


@transaction.atomic
def monitoring_run(
    *, battery_ids: list | None = None, now: datetime | None = None
) -> MonitoringResult:
    """Evaluate every monitoring rule for the given batteries (all when None): open an alert for
    each newly broken rule, resolve those no longer broken, mark stale batteries offline, and set
    each battery's flag to the worst of its reported flag and its unresolved alerts."""
    started = time.perf_counter()
    now = now or timezone.now()
    result = MonitoringResult()
    scope = (
        Battery.objects.all() if battery_ids is None else Battery.objects.filter(pk__in=battery_ids)
    )

    cutoff = now - timedelta(minutes=settings.BATTERIES_STALE_MINUTES)
    result.went_offline = (
        scope.filter(last_seen__lt=cutoff).exclude(status=BatteryStatus.OFFLINE)
    ).update(status=BatteryStatus.OFFLINE)
    stale = _Rule(
        AlertRule.OFFLINE,
        AlertSeverity.WARNING,
        Q(last_seen__lt=cutoff),
        "No telemetry since {last_seen:%Y-%m-%d %H:%M} UTC.",
    )
    _apply_rule(rule=stale, evaluated=scope.filter(last_seen__isnull=False), now=now, result=result)

    online = _with_thresholds(
        scope.filter(last_seen__isnull=False).exclude(status=BatteryStatus.OFFLINE)
    )
    for rule in _VALUE_RULES:
        _apply_rule(rule=rule, evaluated=online, now=now, result=result)

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
