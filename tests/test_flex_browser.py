"""Smart charging and battery plans in Debian's Chromium: the goal form (ready by 07:00 with 30
kWh, a price cap, charge now; a bad value's message next to its field), the plan chart with the
projected cost against charging now, and the battery plan page (charge and discharge against
the import and export prices, reserve, target, projected saving). Screenshots go to
test-results/dashboard/.

Prices are laid out around the test's own clock (every run plans from now): 5p before VAT in
the eight half-hours that end an hour before the ready-by time, 30p elsewhere, and an evening
peak for the battery, so the plans the pages show are the same at any time of day."""

import re
from datetime import time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from batteries.models import Battery
from batteries.tests.factories import BatteryFactory
from billing.tests.factories import TariffAssignmentFactory, agile_tariff, half_hour_rates_store
from charging.tests.factories import ChargerFactory
from flex.models import BatterySchedule, ChargingGoal
from flex.services.horizon import next_local_time
from meters.timeutils import HALF_HOUR, day_bounds
from tests.test_dashboard_browser import DESKTOP, log_in, off_loop, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHEAP, DEAR = Decimal("0.05"), Decimal("0.30")
TENTH = Decimal("0.1")


def _ready_by() -> str:
    """07:00, unless this run is between midnight and 08:00 (then 07:00 is too close for the
    cheap window before it): 15:00."""
    return "07:00" if timezone.localtime().hour >= 8 else "15:00"


def _store_prices(account, *, cheap_until, export=None):
    """Import rates for today and the next two local days: CHEAP in the 8 half-hours before
    ``cheap_until``, DEAR elsewhere; export rates from ``export(slot_start)`` if given."""
    tariff = agile_tariff(export_dynamic=export is not None)
    TariffAssignmentFactory(account=account, tariff=tariff)
    tz = timezone.get_default_timezone()
    for offset in range(3):
        day = timezone.localdate() + timedelta(days=offset)
        start, end = day_bounds(day, tz)
        slots = [start + k * HALF_HOUR for k in range(int((end - start) / HALF_HOUR))]
        cheap = [cheap_until - 8 * HALF_HOUR <= at < cheap_until for at in slots]
        half_hour_rates_store(tariff=tariff, day=day, values=[CHEAP if c else DEAR for c in cheap])
        if export is not None:
            half_hour_rates_store(
                tariff=tariff, day=day, values=[export(at) for at in slots], direction="export"
            )
    return tariff


def _real_errors(console_errors) -> list[str]:
    """The console's errors less Chromium's note of the refused form's 400 answer (the page
    answers a bad value with 400 and the form with its messages)."""
    return [e for e in console_errors if "status of 400 (Bad Request)" not in e]


def _pence(text: str) -> Decimal:
    return Decimal(re.fullmatch(r"(-?[\d.]+)p", text.strip()).group(1))


def _table(page) -> list[list[str]]:
    page.get_by_text(re.compile("^Each half-hour's")).click()
    rows = page.locator("#plan-table tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_a_customer_sets_ready_by_07_00_with_30_kwh_and_sees_the_plan_against_the_prices(
    page, live_server, customer, console_errors
):
    account = customer.customer_accounts.get()
    ready_by = _ready_by()
    ready_at = next_local_time(after=timezone.now(), at=time.fromisoformat(ready_by))
    off_loop(_store_prices, account, cheap_until=ready_at - 2 * HALF_HOUR)
    charger = off_loop(ChargerFactory, account=account)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, customer)
    page.get_by_role("link", name="Smart charging", exact=True).click()
    page.get_by_role("link", name=charger.charge_point_id).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Smart charging")

    page.get_by_label("Ready by").fill(ready_by)
    page.get_by_label("Energy to add (Wh)").fill("30000")
    page.get_by_role("button", name="Save and plan").click()

    expect(page.locator(".message-success")).to_have_text(
        "Your charging goal is saved and planned."
    )
    chart = page.locator("#plan-chart")
    expect(chart).to_have_attribute("data-ready", "true")
    assert chart.locator("canvas").count() == 1
    expect(chart.locator(".u-legend")).to_contain_text("Planned power (kW)")
    expect(chart.locator(".u-legend")).to_contain_text("Price")
    goal = ChargingGoal.objects.get(charger=charger)
    plan = goal.plans.latest()
    expect(chart).to_have_attribute("data-slots", str(len(plan.power_w)))

    # What the page says, against what the table shows and against charging now.
    rows = _table(page)
    powers = [int(row[1].removesuffix(" W")) for row in rows]
    prices = [Decimal(row[2]) for row in rows]
    assert sum(powers) // 2 >= 30_000  # Wh: each half-hour's W x 0.5 h
    # The first half-hour is partly past: its figure is the energy over the whole half-hour.
    assert all(power == 0 or 1380 <= power <= 7400 for power in powers[1:])
    used = [price for power, price in zip(powers, prices, strict=True) if power]
    unused = [price for power, price in zip(powers, prices, strict=True) if not power]
    assert max(used) <= min(unused)  # the cheapest half-hours, nothing dearer instead
    assert prices.count(Decimal("5.25")) == 8 and 5 <= powers.count(7400) <= 8
    cost = sum(Decimal(p) / 2000 * price for p, price in zip(powers, prices, strict=True))
    shown, now = (
        _pence(page.locator("#plan-cost").inner_text()),
        _pence(page.locator("#now-cost").inner_text()),
    )
    assert shown == cost.quantize(TENTH, ROUND_HALF_UP)
    assert shown == plan.cost_pence.quantize(TENTH, ROUND_HALF_UP)
    assert now == plan.charge_now_cost_pence.quantize(TENTH, ROUND_HALF_UP)
    assert now > shown
    expect(page.locator("#plan-energy")).to_have_text(f"{plan.delivered_wh} of 30000 Wh planned")
    # The test charger is not connected: the customer is told it charges at once.
    expect(page.locator("#goal-notice")).to_contain_text("it is not connected")
    shoot(page, "flex-charger-plan")

    # A price cap under every price: nothing can be planned, and the page says why.
    page.get_by_label("Price cap").fill("4")
    page.get_by_role("button", name="Save and plan").click()
    expect(page.locator("#plan-energy")).to_have_text("0 of 30000 Wh planned")
    expect(page.locator("#plan")).to_contain_text("priced at or under the price cap")
    assert ChargingGoal.objects.get(charger=charger).price_cap == Decimal("4")

    # Charge now: the plan is charging at once, its cost is the charging-now cost.
    page.get_by_label("Price cap").fill("")
    page.get_by_label("Charge now").check()
    page.get_by_role("button", name="Save and plan").click()
    expect(page.locator("#goal-state")).to_have_text("Charging now (the customer's override).")
    expect(page.get_by_label("Charge now")).to_be_checked()
    assert page.locator("#plan-cost").inner_text() == page.locator("#now-cost").inner_text()
    assert console_errors == []


def test_a_bad_value_is_refused_with_its_message_next_to_the_field(
    page, live_server, customer, console_errors
):
    account = customer.customer_accounts.get()
    charger = off_loop(ChargerFactory, account=account)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/flex/chargers/{charger.pk}/")

    page.get_by_label("Ready by").fill("07:00")
    page.get_by_label("Energy to add (Wh)").fill("300000")
    page.get_by_label("Price cap").fill("cheap please")
    page.get_by_role("button", name="Save and plan").click()

    energy = page.get_by_label("Energy to add (Wh)")
    expect(energy).to_have_attribute("aria-invalid", "true")
    expect(energy).to_have_accessible_description("Must be 1 to 200000 Wh.")
    expect(energy).to_have_value("300000")  # what was typed stays, to correct
    cap = page.get_by_label("Price cap")
    expect(cap).to_have_accessible_description("A price in pence per kWh is required, e.g. 15.5.")
    # Each message sits right after its own field's label.
    assert page.locator("label:has([name=energy_wh]) + small.error").inner_text() == (
        "Must be 1 to 200000 Wh."
    )
    expect(page.get_by_label("Ready by")).not_to_have_attribute("aria-invalid", "true")
    assert not ChargingGoal.objects.filter(charger=charger).exists()
    shoot(page, "flex-goal-errors")
    assert _real_errors(console_errors) == []


def _peak_export(at):
    """Export pays 33p in the local 17:00-19:00 peak (above the dear import), 4p otherwise."""
    hour = timezone.localtime(at).hour
    return Decimal("0.33") if 17 <= hour < 19 else Decimal("0.04")


def test_the_battery_plan_page_shows_the_schedule_against_import_and_export_prices(
    page, live_server, customer, console_errors
):
    account = customer.customer_accounts.get()
    cheap_until = timezone.now().replace(minute=0, second=0, microsecond=0) + 6 * HALF_HOUR
    off_loop(_store_prices, account, cheap_until=cheap_until, export=_peak_export)
    battery = off_loop(BatteryFactory, account=account)
    Battery.objects.filter(pk=battery.pk).update(soc_percent=Decimal("40"))
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, customer)
    page.get_by_role("link", name="Smart charging", exact=True).click()
    page.get_by_role("link", name=battery.identifier).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Battery plan: {battery.identifier}")

    page.get_by_label("Reserve").fill("20")
    page.get_by_label("Target charge").fill("90")
    page.get_by_role("button", name="Save and plan").click()
    target = page.get_by_label("Target charge")
    expect(target).to_have_accessible_description(
        "A target SoC needs its time, and a time its SoC."
    )
    assert not BatterySchedule.objects.filter(battery=battery).exists()
    page.get_by_label("Target time").fill("23:30")
    page.get_by_role("button", name="Save and plan").click()

    expect(page.locator(".message-success")).to_have_text(
        "Your battery schedule is saved and planned."
    )
    chart = page.locator("#plan-chart")
    expect(chart).to_have_attribute("data-ready", "true")
    legend = chart.locator(".u-legend")
    expect(legend).to_contain_text("+ discharging, - charging")
    expect(legend).to_contain_text("Import price")
    expect(legend).to_contain_text("Export price")
    plan = BatterySchedule.objects.get(battery=battery).plans.latest()
    expect(page.locator("#plan-reserve")).to_have_text("20 %")
    expect(page.locator("#plan-target")).to_contain_text("Target 90 % by 23:30")
    saving = _pence(page.locator("#plan-saving").inner_text())
    assert saving == (-plan.cost_pence).quantize(TENTH, ROUND_HALF_UP)
    assert saving > 0  # cheap energy in, dear or well-paid energy out

    rows = _table(page)
    assert len(rows) == len(plan.power_w)
    orders = [row[1] for row in rows]
    charge_at = [
        Decimal(row[3])
        for row, order in zip(rows, orders, strict=True)
        if "charge " in order and "dis" not in order
    ]
    assert charge_at and max(charge_at) == Decimal("5.25")  # it charges only when import is cheap
    assert any(order.startswith("discharge") for order in orders)
    assert all(Decimal(row[2].removesuffix(" %")) >= 20 for row in rows)  # never below the reserve
    assert {row[4] for row in rows} >= {"33.00", "4.00"}
    shoot(page, "flex-battery-plan")
    assert _real_errors(console_errors) == []
