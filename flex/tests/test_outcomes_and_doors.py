"""After a session: its cost at the household's half-hourly prices and the saving against
charging now, on the API and the charger's page; and the public doors the planner reads the
other apps through (live house power, the charger's power, the car's SoC, planned battery
orders)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from batteries import services as battery_services
from batteries.models import BatteryInstruction, InstructionAction, InstructionStatus
from batteries.tests.factories import BatteryFactory
from charging import selectors as charging_selectors
from charging import services as charging_services
from charging.tests.factories import ChargerFactory
from config.exceptions import InvalidInput
from flex import services
from meters import selectors as meters_selectors
from meters.models import MeterKind
from meters.tests.factories import MeterFactory, ReadingFactory

from .households import NOW, agile_household

pytestmark = pytest.mark.django_db

GOAL = {"ready_by": "07:00", "energy_wh": 10_000, "max_power_w": 7400}


def _at(day, hh, mm=0):
    return datetime(2026, 12, day, hh, mm, tzinfo=UTC)


def _session(charger, samples, *, start, stop, meter_start, meter_stop, unit="Wh"):
    """A finished session through the charging services, as a charger would report it."""
    started = charging_services.transaction_start(
        charger=charger,
        connector_id=1,
        id_tag="TAG1",
        meter_start=meter_start,
        timestamp=start.isoformat(),
    ).transaction
    for at, value in samples:
        charging_services.meter_values_record(
            charger=charger,
            connector_id=1,
            transaction_id=started.pk,
            meter_value=[
                {
                    "timestamp": at.isoformat(),
                    "sampled_value": [{"value": str(value), "unit": unit}],
                }
            ],
        )
    charging_services.transaction_stop(
        charger=charger,
        transaction_id=started.pk,
        meter_stop=meter_stop,
        timestamp=stop.isoformat(),
    )
    started.refresh_from_db()
    return started


def _smart_session(charger):
    """Plugged in at 18:00 on 3 Dec (the 40p peak), charged 10 kWh by the plan from 00:00 at
    7.4 kW (the 5p half-hours), unplugged at 06:00."""
    return _session(
        charger,
        [(_at(4, 0), 1000), (_at(4, 0, 30), 4700), (_at(4, 1), 8400), (_at(4, 1, 21), 11000)],
        start=_at(3, 18),
        stop=_at(4, 6),
        meter_start=1000,
        meter_stop=11000,
    )


def test_a_finished_session_shows_what_it_cost_and_saved_against_charging_now(api):
    user = UserFactory()
    charger = ChargerFactory(account=agile_household(user=user))
    services.goal_set(charger=charger, now=NOW, **GOAL)
    session = _smart_session(charger)
    answer = api.as_user(user).get(f"/api/v1/chargers/{charger.pk}/goal/sessions")
    assert answer.status_code == 200, answer.content
    [outcome] = answer.json()
    # 10 kWh in the 5p half-hours (5.25p with VAT): 52.5p. Charging now from 18:00 at 7.4 kW:
    # 3.7 + 3.7 kWh at the 42p peak, 2.6 kWh at 26.25p from 19:00: 310.8p + 68.25p = 379.05p.
    assert outcome["transaction_id"] == session.pk
    assert outcome["energy_wh"] == 10_000
    assert Decimal(outcome["cost_pence"]) == Decimal("52.5")
    assert Decimal(outcome["charge_now_cost_pence"]) == Decimal("379.05")
    assert Decimal(outcome["saved_pence"]) == Decimal("326.55")
    assert outcome["unpriced_wh"] == 0


def test_a_session_register_in_kwh_is_read_as_wh_and_spread_between_samples():
    account = agile_household()
    charger = ChargerFactory(account=account)
    # 2 kWh between 23:45 and 00:15: half at 26.25p (before midnight), half at 5.25p.
    session = _session(
        charger,
        [(_at(3, 23, 45), "0.500"), (_at(4, 0, 15), "2.500")],
        start=_at(3, 23, 40),
        stop=_at(4, 0, 20),
        meter_start=500,
        meter_stop=2500,
        unit="kWh",
    )
    outcome = services.session_outcome(transaction=session, max_power_w=7400)
    assert outcome.energy_wh == 2000
    assert outcome.cost_pence == Decimal("1") * Decimal("26.25") + Decimal("1") * Decimal("5.25")
    # Charging now from 23:40: 20 minutes at 7.4 kW is 2.466 kWh, so all 2 kWh before midnight.
    assert outcome.charge_now_cost_pence == Decimal("2") * Decimal("26.25")


def test_the_charger_page_lists_past_sessions_and_strangers_see_none(client, api):
    user = UserFactory()
    charger = ChargerFactory(account=agile_household(user=user))
    services.goal_set(charger=charger, now=NOW, **GOAL)
    session = _smart_session(charger)
    client.force_login(user)
    page = client.get(f"/flex/chargers/{charger.pk}/").content.decode()
    assert f'data-transaction="{session.pk}"' in page
    assert "<td>52.5p</td>" in page and "<td>379.1p</td>" in page and "326.6p" in page
    stranger = UserFactory()
    agile_household(user=stranger)
    url = f"/api/v1/chargers/{charger.pk}/goal/sessions"
    assert api.as_user(stranger).get(url).status_code == 404


def test_live_power_counts_only_fresh_live_readings():
    account = agile_household()
    fresh = MeterFactory(account=account, kind=MeterKind.LIVE)
    stale = MeterFactory(account=account, kind=MeterKind.LIVE)
    now = timezone.now()
    ReadingFactory(meter=fresh, at=now - timedelta(seconds=30), power_w=1500)
    ReadingFactory(meter=stale, at=now - timedelta(minutes=20), power_w=9000)
    live = meters_selectors.live_power_w(account=account, max_age=timedelta(minutes=5), now=now)
    assert live == 1500
    later = now + timedelta(minutes=10)
    assert (
        meters_selectors.live_power_w(account=account, max_age=timedelta(minutes=5), now=later)
        is None
    )


def test_a_target_soc_goal_plans_from_the_cars_last_reported_soc():
    charger = ChargerFactory(account=agile_household())
    for at, soc in ((NOW - timedelta(minutes=9), "20"), (NOW - timedelta(minutes=2), "30")):
        charging_services.meter_values_record(
            charger=charger,
            connector_id=1,
            meter_value=[
                {
                    "timestamp": at.isoformat(),
                    "sampled_value": [{"value": soc, "measurand": "SoC", "unit": "Percent"}],
                }
            ],
        )
    assert charging_selectors.vehicle_soc_latest(charger=charger, connector_id=1) == Decimal("30")
    goal = services.goal_set(
        charger=charger, now=NOW, ready_by="07:00", target_soc_pct=80, vehicle_capacity_wh=60_000
    )
    assert goal.plans.latest().needed_wh == 30_000  # 50 % of 60 kWh


def test_planned_battery_orders_refresh_the_same_order_and_replace_a_new_one():
    battery = BatteryFactory()
    first = battery_services.instruction_issue_planned(
        battery=battery,
        action=InstructionAction.CHARGE,
        power_kw=Decimal("3"),
        expires_in_minutes=35,
    )
    again = battery_services.instruction_issue_planned(
        battery=battery,
        action=InstructionAction.CHARGE,
        power_kw=Decimal("3"),
        expires_in_minutes=35,
    )
    assert again.pk == first.pk and again.refreshed_at is not None
    assert again.expires_at >= first.expires_at
    other = battery_services.instruction_issue_planned(
        battery=battery, action=InstructionAction.HOLD, power_kw=None, expires_in_minutes=35
    )
    assert other.pk != first.pk
    first.refresh_from_db()
    assert first.status == InstructionStatus.SUPERSEDED
    assert BatteryInstruction.objects.filter(battery=battery).count() == 2
    with pytest.raises(InvalidInput) as refused:
        battery_services.instruction_issue_planned(
            battery=battery,
            action=InstructionAction.DISCHARGE,
            power_kw=None,
            expires_in_minutes=35,
        )
    assert "power_kw" in refused.value.errors


def test_a_minimum_power_above_the_maximum_is_refused_naming_the_field():
    charger = ChargerFactory(account=agile_household())
    with pytest.raises(InvalidInput) as refused:
        services.goal_set(charger=charger, now=NOW, **GOAL | {"min_power_w": 8000})
    assert list(refused.value.errors) == ["min_power_w"]
    goal = services.goal_set(charger=charger, now=NOW, **GOAL | {"min_power_w": 4140})
    assert all(power == 0 or power >= 4140 for power in goal.plans.latest().power_w[1:])
