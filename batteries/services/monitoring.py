"""Monitoring: abnormality rules evaluated as set-based queries over the fleet.

Each rule is one condition on the battery's current state against its model's limits
(``ModelThresholds``, blanks and unknown models from ``settings.BATTERIES_THRESHOLD_DEFAULTS``).
A pass costs a fixed number of queries whatever the fleet size: one UPDATE marking stale batteries
offline, one SELECT of every seen battery's state, one of their unresolved alerts, one of the
model limits; the rules are then judged in memory (a few microseconds a battery, where per-row
SQL subqueries for the limits cost seconds); then one INSERT of the new alerts, one UPDATE
resolving the cleared ones, and one UPDATE of the flags that can have changed.

Telemetry ingest runs the same rules on a batch's batteries with ``monitoring_judge_batch``: it
holds their rows locked and their new state in memory, so the pass there costs one SELECT of
their unresolved alerts, the limits, and the alert writes; the stale batteries' status and every
flag are set on the states, for the ingest's one UPDATE of the batteries.

Value rules look only at online batteries: an offline unit's last values are old news, so its
alerts stay as they were until it reports again. Temperature uses the charging thresholds while
power is negative (charging) and the discharging ones otherwise.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from config.database import array_cursor
from notifications.services import events_publish

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
from ..selectors import LAST_PASS_KEY
from ..sql import field_in


def _limits() -> tuple[dict, dict]:
    """The default limits, and each (vendor, model)'s limits with its blanks filled in."""
    defaults = {name: float(value) for name, value in settings.BATTERIES_THRESHOLD_DEFAULTS.items()}
    per_model = {}
    for row in ModelThresholds.objects.values("vendor", "model", *defaults):
        key = (row.pop("vendor"), row.pop("model"))
        per_model[key] = {name: defaults[name] if v is None else v for name, v in row.items()}
    return defaults, per_model


_TEMPERATURE_LIMITS = {
    (charging, level): f"{'charge' if charging else 'discharge'}_temperature_{level}_c"
    for charging in (True, False)
    for level in ("warning", "critical")
}


@dataclass(frozen=True)
class _State:
    """A battery's current state as the rules see it (numbers as floats, limits resolved)."""

    soc_percent: float
    power_kw: float
    voltage_v: float
    temperature_c: float
    min_soc_reserve: float
    last_seen: datetime
    limits: dict

    @property
    def charging(self) -> bool:
        return self.power_kw < 0

    def temperature_limit(self, level: str) -> float:
        return self.limits[_TEMPERATURE_LIMITS[self.charging, level]]


@dataclass(frozen=True)
class _Rule:
    rule: str
    severity: str
    breaks: Callable[[_State], bool]
    describe: Callable[[_State], str]


_VALUE_RULES = [
    _Rule(
        AlertRule.TEMPERATURE_CRITICAL,
        AlertSeverity.CRITICAL,
        lambda s: s.temperature_c >= s.temperature_limit("critical"),
        lambda s: (
            f"Temperature {s.temperature_c:g} C while {'charging' if s.charging else 'discharging'}"
            f" is at or above the critical {s.temperature_limit('critical'):g} C."
        ),
    ),
    _Rule(
        AlertRule.TEMPERATURE_WARNING,
        AlertSeverity.WARNING,
        lambda s: (
            s.temperature_limit("warning") <= s.temperature_c < s.temperature_limit("critical")
        ),
        lambda s: (
            f"Temperature {s.temperature_c:g} C while {'charging' if s.charging else 'discharging'}"
            f" is at or above the warning {s.temperature_limit('warning'):g} C."
        ),
    ),
    _Rule(
        AlertRule.SOC_BELOW_RESERVE,
        AlertSeverity.WARNING,
        lambda s: s.soc_percent < s.min_soc_reserve,
        lambda s: (
            f"State of charge {s.soc_percent:g} % is below the reserve of {s.min_soc_reserve:g} %."
        ),
    ),
    _Rule(
        AlertRule.VOLTAGE_OUT_OF_RANGE,
        AlertSeverity.WARNING,
        lambda s: not s.limits["voltage_min_v"] <= s.voltage_v <= s.limits["voltage_max_v"],
        lambda s: (
            f"Voltage {s.voltage_v:g} V is outside {s.limits['voltage_min_v']:g}-"
            f"{s.limits['voltage_max_v']:g} V."
        ),
    ),
    _Rule(
        AlertRule.POWER_ABOVE_RATING,
        AlertSeverity.WARNING,
        lambda s: abs(s.power_kw) > s.limits["rated_power_kw"],
        lambda s: (
            f"Power {s.power_kw:g} kW is above the rating of {s.limits['rated_power_kw']:g} kW."
        ),
    ),
]
_OFFLINE_DESCRIPTION = "No telemetry since {:%Y-%m-%d %H:%M} UTC."


@dataclass
class MonitoringResult:
    opened: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    went_offline: int = 0
    flags_changed: int = 0
    seconds: float = 0.0


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
    # Take the batteries' row locks up front in id order, as telemetry ingest does, so a pass and
    # an ingest batch queue for each other instead of deadlocking.
    list(scope.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))
    cutoff = now - timedelta(minutes=settings.BATTERIES_STALE_MINUTES)
    result.went_offline = (
        scope.filter(last_seen__lt=cutoff).exclude(status=BatteryStatus.OFFLINE)
    ).update(status=BatteryStatus.OFFLINE)

    rows = _monitored_rows(scope)
    judgement = _Judgement(open_alerts=_open_alerts(rows), now=now, result=result)
    _judge_rows(rows, judgement, cutoff=cutoff)
    judgement.write()

    # Flags follow the stored truth, computed in SQL, for the batteries whose alerts changed or
    # whose flag may disagree with what they report; the others' flags cannot have changed.
    stale_flags = scope.filter(
        field_in("pk", judgement.touched, "uuid") | ~Q(flag=F("reported_flag"))
    )
    result.flags_changed = _refresh_flags(stale_flags)
    result.seconds = time.perf_counter() - started
    if battery_ids is None:
        cache.set(
            LAST_PASS_KEY,
            {"at": now.isoformat(), "seconds": round(result.seconds, 3)},
            timeout=None,
        )
    return result


@dataclass
class BatteryState:
    """A locked battery's current state as ingest holds it: the monitored columns
    (``STATE_COLUMNS``, in that order), changed in place by ingest and by the batch pass."""

    id: uuid.UUID
    identifier: str
    account_id: int
    status: str
    last_seen: datetime | None
    vendor: str
    model: str
    soc_percent: Decimal | None
    power_kw: Decimal | None
    voltage_v: Decimal | None
    temperature_c: Decimal | None
    min_soc_reserve: Decimal
    reported_flag: str
    flag: str

    def monitored_row(self) -> tuple:
        """The row ``_monitored_rows`` reads for this battery."""
        return (
            self.id,
            self.status,
            self.last_seen,
            self.vendor,
            self.model,
            self.soc_percent,
            self.power_kw,
            self.voltage_v,
            self.temperature_c,
            self.min_soc_reserve,
        )


# The batteries' columns ingest reads under lock: the state's fields are named as the columns.
STATE_COLUMNS = tuple(f.name for f in fields(BatteryState))


def monitoring_judge_batch(*, states: list[BatteryState], now: datetime) -> MonitoringResult:
    """``monitoring_run`` for batteries the caller holds locked, with their current state in
    ``states`` (telemetry ingest, after a batch's readings): the same rules open and resolve the
    same alerts; a stale battery's ``status`` becomes offline and each ``flag`` the worst of its
    reported flag and its unresolved alerts, on the states, for the caller to store."""
    result = MonitoringResult()
    cutoff = now - timedelta(minutes=settings.BATTERIES_STALE_MINUTES)
    for state in states:
        if (
            state.last_seen is not None
            and state.last_seen < cutoff
            and state.status != BatteryStatus.OFFLINE
        ):
            state.status = BatteryStatus.OFFLINE
            result.went_offline += 1
    rows = [state.monitored_row() for state in states if state.last_seen is not None]
    unresolved = _unresolved_alerts([state.id for state in states])
    judgement = _Judgement(
        open_alerts={key: pk for key, (pk, _) in unresolved.items()}, now=now, result=result
    )
    _judge_rows(rows, judgement, cutoff=cutoff)
    judgement.write()
    cleared = set(judgement.cleared)
    severities: dict = {}
    for (battery_id, _), (pk, severity) in unresolved.items():
        if pk not in cleared:
            severities.setdefault(battery_id, set()).add(severity)
    for alert in judgement.new_alerts:
        severities.setdefault(alert.battery_id, set()).add(alert.severity)
    for state in states:
        flag = _worst_flag(state.reported_flag, severities.get(state.id, ()))
        if flag != state.flag:
            state.flag = flag
            result.flags_changed += 1
    return result


def _worst_flag(reported_flag: str, severities) -> str:
    """What ``_refresh_flags`` computes in SQL, for one battery."""
    if reported_flag == BatteryFlag.ERROR or AlertSeverity.CRITICAL in severities:
        return BatteryFlag.ERROR
    if reported_flag == BatteryFlag.WARNING or severities:
        return BatteryFlag.WARNING
    return BatteryFlag.OK


def _unresolved_alerts(battery_ids: list) -> dict:
    """The unresolved alerts of those batteries: (battery id, rule) -> (alert pk, severity)."""
    if connection.vendor != "postgresql":
        alerts = (
            BatteryAlert.objects.filter(battery_id__in=battery_ids)
            .exclude(status=AlertStatus.RESOLVED)
            .values_list("pk", "battery_id", "rule", "severity")
        )
    else:
        with array_cursor() as cursor:
            cursor.execute(
                f"SELECT id, battery_id, rule, severity FROM {BatteryAlert._meta.db_table} "  # noqa: S608
                "WHERE battery_id = ANY(%b::uuid[]) AND status <> %b",
                [battery_ids, AlertStatus.RESOLVED.value],
            )
            alerts = cursor.fetchall()
    return {(battery_id, rule): (pk, severity) for pk, battery_id, rule, severity in alerts}


def _monitored_rows(scope: QuerySet) -> list[tuple]:
    """What the rules read of each battery that ever reported."""
    return list(
        scope.filter(last_seen__isnull=False).values_list(
            "id",
            "status",
            "last_seen",
            "vendor",
            "model",
            "soc_percent",
            "power_kw",
            "voltage_v",
            "temperature_c",
            "min_soc_reserve",
        )
    )


def _open_alerts(rows: list[tuple]) -> dict:
    """The unresolved alerts of those batteries: (battery id, rule) -> alert pk."""
    return {
        (battery_id, rule): pk
        for pk, battery_id, rule in BatteryAlert.objects.filter(
            field_in("battery_id", [row[0] for row in rows], "uuid")
        )
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("pk", "battery_id", "rule")
    }


class _Judgement:
    """A pass's verdicts: the alerts to open, those to resolve, the batteries whose alerts
    changed; counted in the pass's result."""

    def __init__(self, *, open_alerts: dict, now: datetime, result: MonitoringResult):
        # By battery, then rule: a battery's rules are judged against its own few alerts.
        self.open_alerts: dict = {}
        for (battery_id, rule), pk in open_alerts.items():
            self.open_alerts.setdefault(battery_id, {})[rule] = pk
        self.now = now
        self.result = result
        self.new_alerts: list[BatteryAlert] = []
        self.cleared: list = []
        self.touched: set = set()
        result.opened = dict.fromkeys(AlertRule.values, 0)
        result.resolved = dict.fromkeys(AlertRule.values, 0)

    def judge(
        self, battery_id, open_rules: dict, rule: str, severity: str, breaks: bool, describe
    ) -> None:
        """``open_rules``: the battery's unresolved alerts by rule (``open_alerts``)."""
        existing = open_rules.get(rule)
        if breaks and existing is None:
            self.new_alerts.append(
                BatteryAlert(
                    battery_id=battery_id,
                    rule=rule,
                    severity=severity,
                    message=describe()[:300],
                    opened_at=self.now,
                )
            )
            self.result.opened[rule] += 1
            self.touched.add(battery_id)
        elif not breaks and existing is not None:
            self.cleared.append(existing)
            self.result.resolved[rule] += 1
            self.touched.add(battery_id)

    def write(self) -> None:
        # A concurrent pass may have opened the same alert: the partial unique index keeps one.
        BatteryAlert.objects.bulk_create(self.new_alerts, batch_size=2000, ignore_conflicts=True)
        events_publish(kind="battery_alert", items=_alert_events(self.new_alerts))
        if self.cleared:
            BatteryAlert.objects.filter(field_in("pk", self.cleared, "bigint")).exclude(
                status=AlertStatus.RESOLVED
            ).update(status=AlertStatus.RESOLVED, resolved_at=self.now)


def _alert_events(alerts: list[BatteryAlert]) -> list[tuple[int, dict]]:
    """Each new alert as a notifications event of its battery's account (one query)."""
    if not alerts:
        return []
    batteries = {
        pk: (account_id, identifier)
        for pk, account_id, identifier in Battery.objects.filter(
            field_in("pk", {alert.battery_id for alert in alerts}, "uuid")
        ).values_list("pk", "account_id", "identifier")
    }
    events = []
    for alert in alerts:
        account_id, identifier = batteries[alert.battery_id]
        payload = {
            "battery": identifier,
            "rule": alert.rule,
            "severity": alert.severity,
            "message": f"Battery {identifier}: {alert.message}",
        }
        events.append((account_id, payload))
    return events


def _judge_rows(rows: list[tuple], judgement: _Judgement, *, cutoff: datetime) -> None:
    defaults, per_model = _limits()
    no_alerts: dict = {}
    for battery_id, status, last_seen, vendor, model, *numbers in rows:
        open_rules = judgement.open_alerts.get(battery_id, no_alerts)
        judgement.judge(
            battery_id,
            open_rules,
            AlertRule.OFFLINE,
            AlertSeverity.WARNING,
            last_seen < cutoff,
            lambda last_seen=last_seen: _OFFLINE_DESCRIPTION.format(last_seen),
        )
        if status == BatteryStatus.OFFLINE or None in numbers:
            continue  # an offline unit's last values are old news: leave its alerts be
        state = _State(
            *(float(n) for n in numbers),
            last_seen=last_seen,
            limits=per_model.get((vendor, model), defaults),
        )
        for rule in _VALUE_RULES:
            judgement.judge(
                battery_id,
                open_rules,
                rule.rule,
                rule.severity,
                rule.breaks(state),
                lambda rule=rule, state=state: rule.describe(state),
            )


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
