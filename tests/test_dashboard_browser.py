"""The dashboards as people use them, in Debian's Chromium: the customer's chart, selection,
presets and shortcuts, polling updates, the phone view, the analyst module and the operations
page. Screenshots of each page (desktop and phone) go to test-results/dashboard/.

The live websocket path (a real daphne) is in test_dashboard_live.py."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import CustomerAccount
from accounts.tests.factories import PASSWORD, CustomerAccountFactory
from batteries.tests.factories import BatteryFactory
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from charging.tests.factories import ChargerFactory
from meters import services
from meters.telemetry import supervision
from meters.tests.factories import MeterFactory
from portal.tests.factories import half_hour_floor, meter_with_readings, seed_readings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls between browser steps
# are ordinary blocking ones and safe here.

SHOTS = Path(__file__).resolve().parent.parent / "test-results" / "dashboard"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The browser keeps the UK's clock, as the customers' do (and as typed times are read)."""
    return browser_context_args | {"timezone_id": "Europe/London", "locale": "en-GB"}


def off_loop(function, *args, **kwargs):
    """Run a write in another thread: its after-commit live push calls async_to_sync, which
    refuses to run in this thread, where Playwright's event loop is running."""

    def run():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, user) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/$"))


@pytest.fixture
def meter(customer):
    return off_loop(
        meter_with_readings, account=customer.customer_accounts.get(), days=35, now=timezone.now()
    )


def chart_ready(page):
    expect(page.locator("#chart-wrap")).to_have_attribute("data-state", "ready")


def test_it_draws_the_dashboard_with_seeded_data(
    page, live_server, customer, meter, console_errors
):
    account = customer.customer_accounts.get()
    off_loop(TariffAssignmentFactory, account=account, tariff=TariffFactory())
    battery = off_loop(BatteryFactory, account=account)
    charger = off_loop(ChargerFactory, account=account)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/")

    chart_ready(page)
    expect(page.locator("#summary article[data-period]")).to_have_count(5)
    expect(page.locator("#daily-wrap")).to_have_attribute("data-state", "ready")

    points = int(page.locator("#chart-wrap").get_attribute("data-points"))
    assert 47 <= points <= 49  # one day of half-hourly reads
    assert page.locator("#chart canvas").count() == 1
    total = page.locator('#summary article[data-period="total"] .figure').inner_text()
    readings = list(meter.readings.order_by("at").values_list("import_kwh", flat=True))
    assert total == f"{readings[-1] - readings[0]:,.0f} kWh"
    cost = (readings[-1] - readings[0]) * Decimal("0.28") * Decimal("1.05")
    expect(page.locator('#summary article[data-period="total"] .cost')).to_have_text(
        f"£{cost:,.2f}"
    )
    expect(page.locator('#devices [data-kind="battery"]')).to_contain_text(battery.identifier)
    expect(page.locator('#devices [data-kind="charger"]')).to_contain_text(charger.charge_point_id)
    expect(page.get_by_role("link", name="Start or stop charging")).to_have_attribute(
        "href", f"/charging/{charger.pk}/"
    )
    shoot(page, "dashboard-desktop")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")
    chart_ready(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shoot(page, "dashboard-narrow")
    assert console_errors == []


def test_it_shows_the_statistics_of_a_dragged_range(
    page, live_server, customer, meter, console_errors
):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")
    chart_ready(page)

    box = page.locator("#chart .u-over").bounding_box()
    middle = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.2, middle)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, middle, steps=8)
    page.mouse.up()

    expect(page.locator("#selection")).to_be_visible()
    expect(page.locator("#sel-energy")).to_contain_text("kWh")
    count = int(page.locator("#sel-count").inner_text())
    assert 20 <= count <= 30  # about half of a day of half-hours
    shoot(page, "dashboard-selection")

    page.keyboard.press("Escape")
    expect(page.locator("#selection")).to_be_hidden()

    # The same without a mouse: type the range.
    page.get_by_text("Statistics for a range you type in").focus()
    page.keyboard.press("Enter")
    end = timezone.localtime(half_hour_floor(timezone.now()))
    page.get_by_label("From", exact=True).fill(
        (end - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("To", exact=True).fill(end.strftime("%Y-%m-%dT%H:%M"))
    page.keyboard.press("Enter")
    expect(page.locator("#selection")).to_be_visible()
    expect(page.locator("#sel-count")).to_have_text("7")
    assert console_errors == []


def test_it_switches_range_with_presets_and_keyboard_shortcuts(
    page, live_server, customer, meter, console_errors
):
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")
    chart_ready(page)
    wrap = page.locator("#chart-wrap")

    page.keyboard.press("3")
    expect(page.get_by_role("button", name="Week")).to_have_attribute("aria-pressed", "true")
    expect(wrap).to_have_attribute("data-points", re.compile(r"^3(3[5-9]|4[0-9])$"))

    page.keyboard.press("1")
    expect(page.get_by_role("button", name="Hour")).to_have_attribute("aria-pressed", "true")
    expect(wrap).to_have_attribute("data-points", re.compile(r"^[123]$"))

    page.get_by_role("button", name="Month").click()
    expect(wrap).to_have_attribute("data-points", re.compile(r"^14[2-4][0-9]$"))

    with page.expect_request(re.compile(r".*/series\.json\?start=.*")):
        page.keyboard.press("r")
    page.keyboard.press("5")
    expect(page.get_by_role("button", name="Year")).to_have_attribute("aria-pressed", "true")
    # The 35 days seeded fit in the chart's points, so a year shows every one of them (sampling
    # by time, when there are more, is tested with meters' selectors).
    expect(wrap).to_have_attribute("data-points", "1681")
    assert console_errors == []


def test_it_resets_a_selection_on_a_double_tap(browser, live_server, customer, meter):
    context = browser.new_context(
        viewport={"width": 820, "height": 1180}, has_touch=True, timezone_id="Europe/London"
    )
    page = context.new_page()
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")
    chart_ready(page)
    box = page.locator("#chart .u-over").bounding_box()
    middle = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, middle)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, middle, steps=5)
    page.mouse.up()
    expect(page.locator("#selection")).to_be_visible()

    page.touchscreen.tap(box["x"] + box["width"] / 2, middle)
    page.touchscreen.tap(box["x"] + box["width"] / 2, middle)

    expect(page.locator("#selection")).to_be_hidden()
    context.close()


def test_it_says_when_the_readings_cannot_be_loaded_and_retries(page, live_server, customer, meter):
    failing = {"on": True}

    def series(route):
        if failing["on"]:
            route.fulfill(status=503, json={"detail": "Reading store unavailable"})
        else:
            route.continue_()

    page.route(re.compile(r".*/series\.json.*"), series)
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")

    expect(page.locator("#chart-wrap")).to_have_attribute("data-state", "error")
    expect(page.get_by_role("status").filter(has_text="Reading store unavailable")).to_be_visible()
    failing["on"] = False
    page.get_by_role("button", name="Try again").click()
    chart_ready(page)


def test_it_polls_for_new_readings_and_flashes_them_in(page, live_server, customer, console_errors):
    """Under a server without websockets the page falls back to polling with ``after``."""
    meter = MeterFactory(account=customer.customer_accounts.get())
    latest = half_hour_floor(timezone.now())
    off_loop(
        services.reading_record,
        meter=meter,
        at=latest - timedelta(minutes=30),
        import_kwh=Decimal("10"),
        source="api",
    )
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/?poll=1")
    expect(page.locator("#chart-wrap")).to_have_attribute("data-points", "1")

    off_loop(
        services.reading_record, meter=meter, at=latest, import_kwh=Decimal("10.5"), source="api"
    )

    expect(page.locator("#chart-wrap")).to_have_attribute("data-points", "2")
    expect(page.locator("#chart-wrap")).to_have_class(re.compile(r"\bflash\b"))
    assert console_errors == []


def test_it_shows_clear_empty_states_without_errors(page, live_server, customer, console_errors):
    MeterFactory(account=customer.customer_accounts.get())
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/")

    expect(page.locator("#chart-wrap")).to_have_attribute("data-state", "empty")
    expect(page.get_by_text("No readings in this period yet.")).to_be_visible()
    expect(page.locator("#daily-wrap")).to_have_attribute("data-state", "empty")
    expect(page.locator('#summary article[data-period="today"] .figure')).to_have_text("\u2013")
    shoot(page, "dashboard-empty")
    page.goto(f"{live_server.url}/m/")
    expect(page.get_by_text("No daily figures for this meter yet.")).to_be_visible()
    assert console_errors == []


def test_it_sends_a_phone_to_the_mobile_view_with_the_right_daily_table(
    browser, live_server, customer, meter
):
    context = browser.new_context(user_agent=IPHONE, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url, customer)

    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_url(f"{live_server.url}/m/")
    page.get_by_label("Lookback (days, 1\u2013365)").fill("7")
    page.get_by_role("button", name="Show").click()

    expect(page.locator("#m-chart-wrap")).to_have_attribute("data-state", "ready")
    rows = page.locator("#daily-table tbody tr")
    # One row per stored day of the 7 ending today (just after midnight today has none yet).
    first = timezone.localdate() - timedelta(days=6)
    days = meter.daily_usage.filter(day__gte=first).count()
    assert days >= 6
    expect(rows).to_have_count(days)
    stored = {u.day.isoformat(): u.import_kwh for u in meter.daily_usage.all()}
    for index in range(days):
        row = rows.nth(index)
        day = row.get_attribute("data-day")
        assert row.locator("td").first.inner_text() == f"{stored[day]:.2f}"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shoot(page, "mobile-phone")
    context.close()
    assert errors == []


def test_it_shows_analysts_aggregates_and_no_personal_data(
    page, live_server, analyst, console_errors
):
    now = timezone.now()
    homes = [
        off_loop(
            meter_with_readings, account=CustomerAccountFactory(postcode=postcode), days=5, now=now
        )
        for postcode in ["N1 9GU"] * 5 + ["SW1Y 4JH"] * 5
    ]
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, analyst)

    page.goto(f"{live_server.url}/analyst/?group_by=area&resolution=day")

    expect(page.locator("#totals tbody tr")).to_have_count(2)
    expect(page.locator("#series-wrap")).to_have_attribute("data-state", "ready")
    expect(page.locator("#dist-wrap")).to_have_attribute("data-state", "ready")
    text = page.content()
    for meter in homes:
        account = CustomerAccount.objects.get(pk=meter.account_id)
        for value in (meter.meter_id, account.account_number, account.owner_name, account.address):
            assert value not in text
        for user in account.users.all():
            assert user.email not in text
            assert user.full_name not in text
    shoot(page, "analyst-desktop")
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#series-wrap")).to_have_attribute("data-state", "ready")
    shoot(page, "analyst-phone")
    assert console_errors == []


def test_the_operations_page_reflects_a_stopped_ingest(page, live_server, staff, console_errors):
    supervision.heartbeat_write(client_id="ingest-browser-test", beat={"connected": True})
    key = supervision.HEARTBEAT_KEY.format(client_id="ingest-browser-test")
    cache.set(
        key, cache.get(key) | {"written_at": (timezone.now() - timedelta(hours=1)).isoformat()}
    )
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, staff)

    page.goto(f"{live_server.url}/ops/")

    expect(page.locator("#ingest-status")).to_have_text("down")
    expect(page.locator("#ingest-reasons")).to_contain_text("no ingest heartbeat")
    expect(page.get_by_role("row", name=re.compile("ingest-browser-test"))).to_contain_text(
        "stopped reporting"
    )
    shoot(page, "ops-desktop")

    page.get_by_label("Reason (shown to senders)").fill("broker upgrade")
    page.get_by_role("button", name="Pause reception").click()
    expect(page.locator("#reception-state")).to_have_text("paused")
    page.get_by_role("button", name="Resume reception").click()
    expect(page.locator("#reception-state")).to_have_text("open")
    page.set_viewport_size(PHONE)
    shoot(page, "ops-phone")
    assert console_errors == []


def test_a_meter_new_today_reads_as_days_and_minutes_not_years_or_a_sliver(
    page, live_server, customer, console_errors
):
    """Twenty minutes of a new live display: the daily bars sit on a calendar week (uPlot alone
    widened one point to 2.7 years), and the Day view zooms to the readings, saying so."""
    now = timezone.now()

    def seed():
        meter = MeterFactory(account=customer.customer_accounts.get(), kind="live")
        seed_readings(meter, end=now, count=41, step=timedelta(seconds=30), with_power=True)
        return meter

    meter = off_loop(seed)
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")
    chart_ready(page)
    expect(page.locator("#daily-wrap")).to_have_attribute("data-state", "ready")
    expect(page.locator("#daily-wrap")).to_have_attribute("data-span-days", re.compile("^[789]$"))
    expect(page.locator("#range-label")).to_contain_text("readings since")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/m/{meter.meter_id}/")
    expect(page.locator("#m-chart-wrap")).to_have_attribute("data-state", "ready")
    expect(page.locator("#m-chart-wrap")).to_have_attribute("data-span-days", re.compile("^[789]$"))
    assert console_errors == []


def test_a_hidden_series_takes_its_axis_and_the_year_names_its_years(
    page, live_server, customer, meter, console_errors
):
    log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")
    chart_ready(page)
    wrap = page.locator("#chart-wrap")
    expect(wrap).to_have_attribute("data-axes", "W kWh")
    page.get_by_label("Cumulative energy (kWh)").uncheck()
    expect(wrap).to_have_attribute("data-axes", "W")
    page.get_by_label("Power (W)").uncheck()
    page.get_by_label("Cumulative energy (kWh)").check()
    expect(wrap).to_have_attribute("data-axes", "kWh")

    page.get_by_role("button", name="Year").click()
    this_year, last_year = timezone.localdate().year, timezone.localdate().year - 1
    expect(page.locator("#range-label")).to_contain_text(
        re.compile(rf"{last_year} \u2013 .*{this_year}")
    )
    assert console_errors == []


def test_the_summary_skeletons_fill_one_row_while_loading(page, live_server, customer, meter):
    """Pico's [aria-busy] spinner took a grid cell and pushed the fifth skeleton to a new row."""
    log_in(page, live_server.url, customer)
    page.route(re.compile(r".*/summary\.json.*"), lambda route: None)  # never answers
    page.goto(f"{live_server.url}/dashboard/{meter.meter_id}/")
    cards = page.locator("#summary .card.skeleton")
    expect(cards).to_have_count(5)
    tops = {round(cards.nth(i).bounding_box()["y"]) for i in range(5)}
    widths = {round(cards.nth(i).bounding_box()["width"]) for i in range(5)}
    assert len(tops) == 1 and len(widths) == 1, (tops, widths)
