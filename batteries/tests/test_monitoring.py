from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from batteries import services
from batteries.models import AlertStatus, Battery, BatteryAlert, ModelThresholds
from batteries.tests.factories import BatteryFactory, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def battery():
    return BatteryFactory()


def _send(battery, seconds_ago=0, **values):
    at = timezone.now() - timedelta(seconds=seconds_ago)
    services.reading_record(
        battery=battery, data=reading(timestamp=at.isoformat(), **values), source="api"
    )
    battery.refresh_from_db()


def _alerts(battery, rule):
    return list(BatteryAlert.objects.filter(battery=battery, rule=rule).order_by("opened_at"))


# (rule, values that break it, values that clear it)
CASES = [
    ("temperature_warning", {"temperature_c": 47, "power_kw": -2}, {"temperature_c": 30}),
    (
        "temperature_warning",
        {"temperature_c": 57, "power_kw": 2},
        {"temperature_c": 50, "power_kw": 2},
    ),
    ("temperature_critical", {"temperature_c": 56, "power_kw": -2}, {"temperature_c": 30}),
    ("temperature_critical", {"temperature_c": 66, "power_kw": 2}, {"temperature_c": 30}),
    ("soc_below_reserve", {"soc_percent": 5}, {"soc_percent": 40}),
    ("voltage_out_of_range", {"voltage_v": 40}, {"voltage_v": 51}),
    ("voltage_out_of_range", {"voltage_v": 60}, {"voltage_v": 51}),
    ("power_above_rating", {"power_kw": -6.5}, {"power_kw": -2}),
    ("power_above_rating", {"power_kw": 5.5}, {"power_kw": 2}),
]


@pytest.mark.parametrize(("rule", "breaking", "clearing"), CASES)
def test_it_opens_an_alert_once_and_resolves_it_once(battery, rule, breaking, clearing):
    _send(battery, seconds_ago=30, **breaking)
    _send(battery, seconds_ago=20, **breaking)
    services.monitoring_run()

    opened = _alerts(battery, rule)
    assert len(opened) == 1 and opened[0].status == AlertStatus.OPEN
    assert battery.flag in ("warning", "error")

    _send(battery, seconds_ago=10, **clearing)
    services.monitoring_run()

    resolved = _alerts(battery, rule)
    assert len(resolved) == 1 and resolved[0].status == AlertStatus.RESOLVED
    assert resolved[0].resolved_at is not None
    battery.refresh_from_db()
    assert battery.flag == "ok"
    assert not BatteryAlert.objects.exclude(status=AlertStatus.RESOLVED).exists()


def test_it_flags_error_for_a_critical_alert_and_warning_for_a_warning(battery):
    _send(battery, temperature_c=60, power_kw=-1)
    assert battery.flag == "error"

    _send(battery, temperature_c=46, power_kw=-1)
    assert battery.flag == "warning"


def test_it_uses_the_charging_thresholds_only_while_charging(battery):
    _send(battery, temperature_c=50, power_kw=-1)
    assert [a.rule for a in _alerts(battery, "temperature_warning")] == ["temperature_warning"]

    _send(battery, temperature_c=50, power_kw=1, status="discharging")
    assert _alerts(battery, "temperature_warning")[0].status == AlertStatus.RESOLVED


def test_it_uses_a_models_own_thresholds(battery):
    ModelThresholds.objects.create(vendor="Acme", model="PowerBox 10", rated_power_kw=10)
    other = BatteryFactory(vendor="Other", model="Y")

    _send(battery, power_kw=7)
    _send(other, power_kw=7)

    assert _alerts(battery, "power_above_rating") == []
    assert len(_alerts(other, "power_above_rating")) == 1


def test_it_keeps_the_reported_flag_when_no_alert_is_open(battery):
    _send(battery, flag="error")

    assert battery.flag == "error"
    assert battery.reported_flag == "error"


def test_it_marks_a_stale_battery_offline_and_back_online(battery, settings):
    settings.BATTERIES_STALE_MINUTES = 10
    _send(battery, seconds_ago=11 * 60, status="discharging", power_kw=1)
    services.monitoring_run()
    services.monitoring_run()

    battery.refresh_from_db()
    assert battery.status == "offline"
    offline = _alerts(battery, "offline")
    assert len(offline) == 1 and offline[0].status == AlertStatus.OPEN
    assert battery.flag == "warning"

    _send(battery, status="idle", power_kw=0)

    assert battery.status == "idle"
    assert _alerts(battery, "offline")[0].status == AlertStatus.RESOLVED
    assert battery.flag == "ok"


def test_it_leaves_a_fresh_battery_online(battery, settings):
    settings.BATTERIES_STALE_MINUTES = 10
    _send(battery, seconds_ago=9 * 60, status="idle", power_kw=0)

    result = services.monitoring_run()

    battery.refresh_from_db()
    assert battery.status == "idle"
    assert result.went_offline == 0


def test_it_keeps_a_value_alert_while_the_battery_is_offline(battery, settings):
    settings.BATTERIES_STALE_MINUTES = 10
    _send(battery, soc_percent=2)
    services.monitoring_run(now=timezone.now() + timedelta(minutes=11))

    battery.refresh_from_db()
    assert battery.status == "offline"
    assert _alerts(battery, "soc_below_reserve")[0].status == AlertStatus.OPEN


def test_it_does_not_reopen_an_acknowledged_alert(battery, staff):
    _send(battery, soc_percent=2)
    alert = _alerts(battery, "soc_below_reserve")[0]
    services.alert_acknowledge(alert=alert, by=staff)
    services.alert_acknowledge(alert=alert, by=staff)
    _send(battery, seconds_ago=-0, soc_percent=3)
    services.monitoring_run()

    alerts = _alerts(battery, "soc_below_reserve")
    assert len(alerts) == 1
    assert alerts[0].status == AlertStatus.ACKNOWLEDGED
    assert alerts[0].acknowledged_by == staff
    battery.refresh_from_db()
    assert battery.flag == "warning"


def test_it_allows_only_one_unresolved_alert_per_battery_and_rule_in_the_database(battery):
    now = timezone.now()
    BatteryAlert.objects.create(
        battery=battery, rule="offline", severity="warning", message="x", opened_at=now
    )
    BatteryAlert.objects.create(
        battery=battery, rule="offline", severity="warning", message="x", opened_at=now,
        status="resolved",
    )  # fmt: skip

    with pytest.raises(IntegrityError), transaction.atomic():
        BatteryAlert.objects.create(
            battery=battery, rule="offline", severity="warning", message="x", opened_at=now
        )


def test_it_monitors_the_fleet_with_a_fixed_number_of_queries(django_assert_max_num_queries):
    batteries = [BatteryFactory(postcode="E8 1AA") for _ in range(5)]
    Battery.objects.filter(pk__in=[b.pk for b in batteries]).update(
        last_seen=timezone.now(), status="charging", soc_percent=1, power_kw=-9,
        voltage_v=70, temperature_c=70,
    )  # fmt: skip

    with django_assert_max_num_queries(20):
        result = services.monitoring_run()

    assert result.opened["soc_below_reserve"] == 5
    assert result.opened["temperature_critical"] == 5
    assert Battery.objects.filter(flag="error").count() == 5


def test_it_acknowledges_alerts_through_the_api_for_staff_only(api, staff, customer):
    battery = BatteryFactory(account=customer.customer_accounts.get())
    _send(battery, soc_percent=2)
    alert = _alerts(battery, "soc_below_reserve")[0]
    path = f"/api/v1/batteries/{battery.pk}/alerts/{alert.pk}/acknowledge"

    listed = api.as_user(customer).get(f"/api/v1/batteries/{battery.pk}/alerts?unresolved=1")
    refused = api.as_user(customer).post(path)
    done = api.as_user(staff).post(path)

    assert [a["rule"] for a in listed.json()["results"]] == ["soc_below_reserve"]
    assert refused.status_code == 403
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
