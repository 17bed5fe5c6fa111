"""The dashboards' pages and JSON doors through Django's test client: who may see what, what the
chart and card payloads hold, bad inputs, the phone redirect and the analyst module's privacy."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from accounts.models import CustomerAccount
from accounts.tests.factories import CustomerAccountFactory, UserFactory
from batteries.tests.factories import BatteryFactory
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from charging.tests.factories import ChargerFactory
from meters import services
from meters.models import DailyUsage, MeterKind, Reception
from meters.telemetry import supervision
from meters.tests.factories import MeterFactory
from portal.selectors import consumption_distribution
from portal.tests.factories import half_hour_floor, meter_with_readings, seed_readings

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def meter(customer, now):
    return meter_with_readings(account=customer.customer_accounts.get(), days=3, now=now)


def test_it_shows_a_customer_their_dashboard_with_the_chart_config(client, customer, meter):
    client.force_login(customer)

    response = client.get("/dashboard/", HTTP_USER_AGENT=DESKTOP)

    assert response.status_code == 200
    assert response.context["meter"] == meter
    assert f"/dashboard/{meter.meter_id}/series.json" in response.text
    assert "vendor/uplot/uPlot.iife.min.js" in response.text


def test_it_hides_another_customers_meter(client, customer, now):
    stranger = meter_with_readings(account=CustomerAccountFactory(), days=1, now=now)
    client.force_login(customer)

    for url in (
        f"/dashboard/{stranger.meter_id}/",
        f"/dashboard/{stranger.meter_id}/series.json?start=0",
        f"/dashboard/{stranger.meter_id}/summary.json",
        f"/dashboard/{stranger.meter_id}/daily.json",
        f"/m/{stranger.meter_id}/",
    ):
        assert client.get(url).status_code == 404, url


def test_it_sends_anonymous_visitors_to_log_in(client, meter):
    response = client.get(f"/dashboard/{meter.meter_id}/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_its_json_doors_answer_anonymous_requests_as_the_api_does(client, meter):
    response = client.get(f"/dashboard/{meter.meter_id}/series.json?start=0")

    assert response.status_code == 401
    assert response.json()["detail"]


def test_it_tells_a_customer_without_meters_so(client):
    user = UserFactory()
    CustomerAccountFactory(users=[user])
    client.force_login(user)

    response = client.get("/dashboard/")

    assert response.status_code == 200
    assert "No meters yet" in response.text


def test_it_returns_power_and_cumulative_energy_columns(client, customer, meter, now):
    client.force_login(customer)
    start = (now - timedelta(hours=2)).timestamp()

    body = client.get(f"/dashboard/{meter.meter_id}/series.json?start={start}").json()

    assert body["points"] == len(body["t"]) == len(body["power_w"]) == len(body["energy_kwh"])
    assert body["points"] in (4, 5)
    assert body["energy_kwh"][0] == 0
    assert body["energy_kwh"] == sorted(body["energy_kwh"])
    # Half-hourly register reads: power is the average since the previous read.
    assert body["power_w"][0] is None
    assert all(watts > 0 for watts in body["power_w"][1:])


def test_it_downsamples_to_max_points_and_keeps_the_last_reading(client, customer, meter, now):
    client.force_login(customer)
    start = (now - timedelta(days=4)).timestamp()

    full = client.get(f"/dashboard/{meter.meter_id}/series.json?start={start}").json()
    small = client.get(
        f"/dashboard/{meter.meter_id}/series.json?start={start}&max_points=20"
    ).json()

    assert full["points"] == 3 * 48 + 1
    assert small["points"] <= 20
    assert small["t"][-1] == full["t"][-1]
    assert small["energy_kwh"][-1] == pytest.approx(full["energy_kwh"][-1])


def test_it_returns_only_readings_after_a_time_for_polling(client, customer, meter, now):
    client.force_login(customer)
    last = half_hour_floor(now)

    after = (last - timedelta(minutes=30)).timestamp()

    body = client.get(f"/dashboard/{meter.meter_id}/series.json?after={after}").json()

    assert body["t"] == [last.timestamp()]
    assert body["base_import_kwh"] is not None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=yesterday", "start"),
        ("", "start"),
        ("start=100&end=50", "end"),
        ("start=0&end=99999999", "end"),
        ("start=0&max_points=1", "max_points"),
        ("start=0&max_points=lots", "max_points"),
    ],
)
def test_it_refuses_a_bad_series_query_naming_the_field(client, customer, meter, query, field):
    client.force_login(customer)

    response = client.get(f"/dashboard/{meter.meter_id}/series.json?{query}")

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_it_works_out_the_statistics_of_a_selection(client, customer, meter, now):
    client.force_login(customer)
    end = half_hour_floor(now)
    start = end - timedelta(hours=1)

    body = client.get(
        f"/dashboard/{meter.meter_id}/stats.json?start={start.timestamp()}&end={end.timestamp()}"
    ).json()

    readings = {r.at: r.import_kwh for r in meter.readings.filter(at__gte=start, at__lte=end)}
    assert body["readings"] == 3
    assert body["energy_kwh"] == pytest.approx(float(readings[end] - readings[start]))


def test_its_json_doors_answer_in_the_apis_one_error_shape(client, customer, meter, now):
    """Since issue #15 the JSON doors are DRF views: errors are config.api's shape (a JSON 404
    for someone else's meter, a 400 whose detail names the field), not a hand-built one."""
    stranger = meter_with_readings(account=CustomerAccountFactory(), days=1, now=now)
    client.force_login(customer)

    missing = client.get(f"/dashboard/{stranger.meter_id}/summary.json")
    invalid = client.get(f"/dashboard/{meter.meter_id}/series.json?start=0&max_points=lots")

    assert missing.status_code == 404
    assert missing.json()["detail"]
    assert invalid.status_code == 400
    assert invalid.json()["detail"].startswith("max_points: ")
    assert list(invalid.json()["fields"]) == ["max_points"]


def test_it_refuses_a_selection_that_ends_before_it_starts(client, customer, meter):
    client.force_login(customer)

    response = client.get(f"/dashboard/{meter.meter_id}/stats.json?start=200&end=100")

    assert response.status_code == 400
    assert "end" in response.json()["fields"]


def test_it_summarises_today_this_week_this_month_last_month_and_total(client, customer, meter):
    client.force_login(customer)

    cards = client.get(f"/dashboard/{meter.meter_id}/summary.json").json()["cards"]

    assert [card["period"] for card in cards] == [
        "today",
        "this_week",
        "this_month",
        "last_month",
        "total",
    ]
    readings = list(meter.readings.order_by("at").values_list("import_kwh", flat=True))
    assert cards[-1]["energy_kwh"] == pytest.approx(float(readings[-1] - readings[0]))
    assert cards[-1]["is_complete"] is False


def test_it_gives_empty_cards_and_series_for_a_meter_without_readings(client, customer):
    meter = MeterFactory(account=customer.customer_accounts.get())
    client.force_login(customer)

    cards = client.get(f"/dashboard/{meter.meter_id}/summary.json").json()["cards"]
    series = client.get(f"/dashboard/{meter.meter_id}/series.json?start=0").json()
    daily = client.get(f"/dashboard/{meter.meter_id}/daily.json").json()

    assert all(card["energy_kwh"] is None for card in cards)
    assert series["points"] == 0
    assert daily["days"] == []
    assert client.get(f"/dashboard/{meter.meter_id}/").status_code == 200
    assert client.get(f"/m/{meter.meter_id}/").status_code == 200


def test_it_gives_daily_bars_with_a_moving_average(client, customer, now):
    meter = meter_with_readings(account=customer.customer_accounts.get(), days=40, now=now)
    client.force_login(customer)

    body = client.get(f"/dashboard/{meter.meter_id}/daily.json?days=35").json()

    complete = [row for row in body["days"] if not row["is_partial"]]
    # One row per stored day of the 35 ending today (just after midnight today has none yet).
    first = timezone.localdate() - timedelta(days=34)
    assert len(body["days"]) == meter.daily_usage.filter(day__gte=first).count() >= 34
    assert body["typical_daily_kwh"] == pytest.approx(
        sum(r.import_kwh for r in meter.daily_usage.filter(is_partial=False)).__float__()
        / meter.daily_usage.filter(is_partial=False).count(),
        rel=1e-3,
    )
    assert all(row["moving_average_kwh"] is not None for row in complete)
    assert client.get(f"/dashboard/{meter.meter_id}/daily.json?days=366").status_code == 400


@pytest.mark.parametrize("agent", [IPHONE, ANDROID_PHONE])
def test_it_sends_phones_to_the_mobile_view(client, customer, meter, agent):
    client.force_login(customer)

    assert client.get("/dashboard/", HTTP_USER_AGENT=agent)["Location"] == "/m/"
    assert (
        client.get(f"/dashboard/{meter.meter_id}/", HTTP_USER_AGENT=agent)["Location"]
        == f"/m/{meter.meter_id}/"
    )
    assert (
        client.get(f"/dashboard/{meter.meter_id}/?full=1", HTTP_USER_AGENT=agent).status_code == 200
    )


@pytest.mark.parametrize("agent", [IPAD, ANDROID_TABLET, DESKTOP, ""])
def test_it_leaves_tablets_and_desktops_on_the_dashboard(client, customer, meter, agent):
    client.force_login(customer)

    assert client.get("/dashboard/", HTTP_USER_AGENT=agent).status_code == 200


def test_it_shows_the_mobile_daily_table_against_the_typical_day(client, customer, now):
    meter = meter_with_readings(account=customer.customer_accounts.get(), days=10, now=now)
    client.force_login(customer)

    response = client.get("/m/?days=5", HTTP_USER_AGENT=DESKTOP)

    assert response.status_code == 200
    rows = response.context["rows"]
    first = timezone.localdate() - timedelta(days=4)
    assert len(rows) == meter.daily_usage.filter(day__gte=first).count() >= 4
    assert f"Used in {len(rows)} days" in response.text  # the days with data, not the lookback
    stored = {u.day.isoformat(): float(u.import_kwh) for u in meter.daily_usage.all()}
    assert all(row["energy_kwh"] == pytest.approx(stored[row["day"]]) for row in rows)


def test_it_highlights_days_well_above_or_below_the_typical_day(client, customer, now):
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    big, small = today - timedelta(days=3), today - timedelta(days=5)

    def scale(at):
        day = (at - timedelta(microseconds=1)).astimezone(tz).date()
        return {big: 2, small: Decimal("0.5")}.get(day, 1)

    meter_with_readings(account=customer.customer_accounts.get(), days=20, now=now, scale=scale)
    client.force_login(customer)

    response = client.get("/m/?days=7")

    rows = {row["day"]: row for row in response.context["rows"]}
    assert rows[big.isoformat()]["difference_percent"] > 50
    assert rows[small.isoformat()]["difference_percent"] < -30
    assert abs(rows[(today - timedelta(days=1)).isoformat()]["difference_percent"]) < 10
    html = response.text
    assert re.search(rf'data-day="{big}">.*?class="num over">\+\d+%', html, re.S)
    assert re.search(rf'data-day="{small}">.*?class="num under">-\d+%', html, re.S)


@pytest.mark.parametrize("days", ["0", "366", "abc", "-3"])
def test_it_refuses_a_lookback_outside_1_to_365_days(client, customer, meter, days):
    client.force_login(customer)

    response = client.get(f"/m/?days={days}")

    assert response.status_code == 400
    assert "1 to 365" in response.text


# --- Analysts -------------------------------------------------------------------------------------


@pytest.fixture
def neighbourhood(now):
    """Six homes in N1 and six in SW1Y, each with ten days of readings."""
    homes = []
    for postcode, region in (("N1 9GU", "london"), ("SW1Y 4JH", "south_east")):
        for _ in range(6):
            account = CustomerAccountFactory(postcode=postcode, region=region)
            homes.append(meter_with_readings(account=account, days=10, now=now))
    return homes


def _personal_data(homes) -> list[str]:
    values = []
    for meter in homes:
        account = CustomerAccount.objects.get(pk=meter.account_id)
        values += [meter.meter_id, account.account_number, account.owner_name]
        values += [line for line in account.address.splitlines() if line.strip()]
        values += [user.email for user in account.users.all()]
        values += [user.full_name for user in account.users.all()]
    return values


def test_it_shows_analysts_aggregates_without_personal_data(client, analyst, neighbourhood, now):
    client.force_login(analyst)
    today = timezone.localdate()
    query = f"start={today - timedelta(days=12)}&end={today + timedelta(days=1)}"

    page = client.get(f"/analyst/?{query}&group_by=area&resolution=day")
    export = client.get(f"/analyst/export.csv?{query}&group_by=area")

    assert page.status_code == 200
    assert {row["group"] for row in page.context["report"]["rows"]} == {"N1", "SW1Y"}
    assert page.context["distribution"]["meters"] == 12
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert {row["area"] for row in rows} == {"N1", "SW1Y"}
    assert all(int(row["meters"]) == 6 for row in rows)
    for value in _personal_data(neighbourhood):
        assert value not in page.text, value
        assert value not in export.content.decode(), value


def test_its_histogram_reveals_no_households_consumption(neighbourhood, now):
    start, end = timezone.localdate() - timedelta(days=12), timezone.localdate() + timedelta(days=1)
    totals = {
        float(total)
        for total in DailyUsage.objects.values("meter")
        .annotate(total=Sum("import_kwh"))
        .values_list("total", flat=True)
    }

    histogram = consumption_distribution(start=start, end=end)

    assert sum(histogram["counts"]) == histogram["meters"] == 12
    assert all(count >= 5 for count in histogram["counts"])
    assert not totals & set(histogram["edges"])
    assert histogram["edges"][0] <= min(totals) and max(totals) <= histogram["edges"][-1]


def test_it_leaves_out_groups_too_small_to_hide_a_household(client, analyst, neighbourhood, now):
    lonely = meter_with_readings(
        account=CustomerAccountFactory(postcode="E1 6AN", region="london"), days=10, now=now
    )
    client.force_login(analyst)
    today = timezone.localdate()

    page = client.get(f"/analyst/?start={today - timedelta(days=12)}&group_by=area")

    assert "E1" not in {row["group"] for row in page.context["report"]["rows"]}
    assert lonely.meter_id not in page.text


@pytest.mark.parametrize("user_fixture", ["customer", None])
def test_it_keeps_the_analyst_module_from_customers_and_strangers(client, request, user_fixture):
    if user_fixture:
        client.force_login(request.getfixturevalue(user_fixture))

    page = client.get("/analyst/")
    export = client.get("/analyst/export.csv")

    assert page.status_code in (302, 403)
    assert export.status_code in (302, 403)
    if user_fixture:
        assert page.status_code == export.status_code == 403


@pytest.mark.parametrize(
    "query",
    ["start=2026-13-01", "group_by=postcode", "resolution=hour", "start=2026-05-01&end=2026-04-01"],
)
def test_it_refuses_bad_analyst_queries(client, analyst, query):
    client.force_login(analyst)

    assert client.get(f"/analyst/?{query}").status_code == 400
    assert client.get(f"/analyst/export.csv?{query}").status_code == 400


def test_it_gives_staff_the_analyst_module_too(client, staff):
    client.force_login(staff)

    assert client.get("/analyst/").status_code == 200


# --- Operations -----------------------------------------------------------------------------------


def test_it_keeps_the_operations_page_for_staff(client, customer, analyst):
    for user in (customer, analyst):
        client.force_login(user)
        assert client.get("/ops/").status_code == 403
        assert client.post("/ops/reception", {"action": "pause"}).status_code == 403
    assert Reception.objects.filter(paused=True).count() == 0


def test_it_pauses_and_resumes_reception_from_the_operations_page(client, staff):
    client.force_login(staff)

    client.post("/ops/reception", {"action": "pause", "reason": "database upgrade"})
    paused = client.get("/ops/")
    client.post("/ops/reception", {"action": "resume"})
    resumed = client.get("/ops/")

    assert "database upgrade" in paused.text
    assert '<strong id="reception-state" class="bad">paused</strong>' in paused.text
    assert '<strong id="reception-state" class="ok">open</strong>' in resumed.text
    assert Reception.objects.get().changed_by == staff


def test_it_refuses_an_unknown_reception_action(client, staff):
    client.force_login(staff)

    assert client.post("/ops/reception", {"action": "explode"}).status_code == 400
    assert client.get("/ops/reception").status_code == 405


def test_it_shows_a_stopped_ingest_and_silent_live_meters(client, staff, customer, now):
    supervision.heartbeat_write(client_id="ingest-ops-test", beat={"connected": True})
    key = supervision.HEARTBEAT_KEY.format(client_id="ingest-ops-test")
    stale = cache.get(key) | {"written_at": (now - timedelta(hours=1)).isoformat()}
    cache.set(key, stale)
    MeterFactory(
        account=customer.customer_accounts.get(),
        kind=MeterKind.LIVE,
        last_seen=now - timedelta(hours=2),
    )
    client.force_login(staff)

    response = client.get("/ops/")

    assert response.status_code == 200
    assert response.context["ops"]["ingest"]["status"] == "down"
    assert '<strong id="ingest-status" class="bad">down</strong>' in response.text
    assert "ingest-ops-test" in response.text
    assert response.context["ops"]["devices_offline"]["offline"] == 1


def test_it_puts_an_energy_panel_on_a_customers_home_page(client, customer, meter):
    client.force_login(customer)

    response = client.get("/")

    assert f"/dashboard/{meter.meter_id}/" in response.text
    assert "Your energy" in response.text


def test_it_keeps_the_energy_panel_off_a_home_page_without_meters(client, staff):
    client.force_login(staff)

    assert "Your energy" not in client.get("/").text


def test_it_counts_a_reading_recorded_now_in_todays_card(client, customer, now):
    meter = MeterFactory(account=customer.customer_accounts.get())
    latest = half_hour_floor(now)
    last = seed_readings(meter, end=latest - timedelta(minutes=30), count=48)[-1]
    client.force_login(customer)
    before = client.get(f"/dashboard/{meter.meter_id}/summary.json").json()["cards"]
    services.reading_record(
        meter=meter, at=latest, import_kwh=Decimal(last.import_kwh) + Decimal("0.5"), source="api"
    )

    after = client.get(f"/dashboard/{meter.meter_id}/summary.json").json()["cards"]

    # A reading at local midnight ends yesterday's last half-hour: then it counts in the total
    # card, not in today's (which has no energy yet).
    in_today = timezone.localtime(latest - timedelta(microseconds=1)).date() == (
        timezone.localdate()
    )
    card = 0 if in_today else -1
    assert after[card]["energy_kwh"] > (before[card]["energy_kwh"] or 0)


# --- Cards from the other apps --------------------------------------------------------------------


def test_it_prices_the_cards_at_the_accounts_current_tariff(client, customer, meter):
    TariffAssignmentFactory(account=customer.customer_accounts.get(), tariff=TariffFactory())
    client.force_login(customer)

    cards = client.get(f"/dashboard/{meter.meter_id}/summary.json").json()["cards"]
    daily = client.get(f"/dashboard/{meter.meter_id}/daily.json?days=2").json()["days"]

    total = cards[-1]
    expected = (Decimal(str(total["energy_kwh"])) * Decimal("0.28") * Decimal("1.05")).quantize(
        Decimal("0.01")
    )
    assert Decimal(total["cost"]) == expected
    assert all(row["cost"] is not None for row in daily)


def test_it_leaves_the_cost_out_without_a_tariff(client, customer, meter):
    client.force_login(customer)

    cards = client.get(f"/dashboard/{meter.meter_id}/summary.json").json()["cards"]

    assert all(card["cost"] is None for card in cards)


def test_it_shows_the_accounts_battery_and_charger_cards_and_no_one_elses(client, customer, meter):
    account = customer.customer_accounts.get()
    mine = BatteryFactory(account=account)
    BatteryFactory(account=CustomerAccountFactory())
    charger = ChargerFactory(account=account)
    ChargerFactory(account=CustomerAccountFactory())
    client.force_login(customer)

    body = client.get(f"/dashboard/{meter.meter_id}/cards.json").json()

    assert [battery["identifier"] for battery in body["batteries"]] == [mine.identifier]
    assert [c["charge_point_id"] for c in body["chargers"]] == [charger.charge_point_id]
    assert body["chargers"][0]["connected"] is False


def test_it_gives_no_device_cards_to_an_account_without_devices(client, customer, meter):
    client.force_login(customer)

    body = client.get(f"/dashboard/{meter.meter_id}/cards.json").json()

    assert body == {"batteries": [], "chargers": []}


def test_it_samples_ten_second_telemetry_by_time_keeping_energy_exact(client, customer, now):
    meter = MeterFactory(account=customer.customer_accounts.get(), kind=MeterKind.LIVE)
    end = now.replace(microsecond=0) - timedelta(seconds=5)
    items = seed_readings(meter, end=end, count=720, step=timedelta(seconds=10), with_power=True)
    client.force_login(customer)
    start = (end - timedelta(hours=2)).timestamp()

    body = client.get(
        f"/dashboard/{meter.meter_id}/series.json?start={start}&end={end.timestamp() + 1}"
        "&max_points=25"
    ).json()

    assert body["points"] <= 25
    assert body["t"][-1] == end.timestamp()
    gaps = {round(b - a) for a, b in zip(body["t"], body["t"][1:], strict=False)}
    assert max(gaps) - min(gaps) <= 20  # evenly spread, not the first 25 readings
    exact = float(Decimal(items[-1].import_kwh) - Decimal(items[0].import_kwh))
    assert body["energy_kwh"][-1] == pytest.approx(exact, abs=1e-4)
    # Each point stands for five minutes: its power is the average since the one before.
    for index in range(1, body["points"]):
        seconds = body["t"][index] - body["t"][index - 1]
        kwh = body["energy_kwh"][index] - body["energy_kwh"][index - 1]
        assert body["power_w"][index] == pytest.approx(kwh * 3_600_000 / seconds, abs=0.1)


def test_it_lists_every_scheduled_job_with_its_runs(client, staff):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="telemetry-supervise",
        task="meters.telemetry.tasks.supervise",
        interval=every_minute,
        last_run_at=timezone.now() - timedelta(seconds=30),
        total_run_count=42,
    )
    client.force_login(staff)

    jobs = {job["name"]: job for job in client.get("/ops/").context["ops"]["beat_jobs"]}

    assert "meters-archive-daily" in jobs
    assert jobs["meters-archive-daily"]["schedule"] == "daily at 00:30 (Europe/London)"
    assert jobs["billing-issue-previous-month"]["schedule"] == (
        "02:00 on the 1st of each month (Europe/London)"
    )
    assert jobs["meters-archive-daily"]["last_run_at"] is None
    ran = jobs["telemetry-supervise"]
    assert ran["total_run_count"] == 42
    assert timedelta(0) <= ran["next_run_at"] - timezone.now() <= timedelta(seconds=31)


def test_it_shows_open_battery_alerts_and_the_last_bill_run(client, staff, customer):
    from batteries.models import AlertSeverity, AlertStatus, BatteryAlert

    battery = BatteryFactory(account=customer.customer_accounts.get())
    BatteryAlert.objects.create(
        battery=battery,
        rule="temperature_critical",
        severity=AlertSeverity.CRITICAL,
        message="Cell temperature 61 C",
        opened_at=timezone.now(),
    )
    BatteryAlert.objects.create(
        battery=battery,
        rule="offline",
        severity=AlertSeverity.WARNING,
        status=AlertStatus.RESOLVED,
        message="Back online",
        opened_at=timezone.now() - timedelta(days=1),
        resolved_at=timezone.now(),
    )
    client.force_login(staff)

    response = client.get("/ops/")

    alerts = response.context["ops"]["battery_alerts"]
    assert [alert["message"] for alert in alerts] == ["Cell temperature 61 C"]
    assert battery.identifier in response.text
    assert "Last bill run: none yet." in response.text


def test_the_operations_page_shows_how_each_jobs_latest_run_ended(
    client, staff, settings, tmp_path
):
    from meters import tasks as meter_tasks

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.ARCHIVE_DIR = blocker / "archive"  # cannot be made: the job fails
    failed = meter_tasks.archive_yesterday.apply(throw=False)  # Celery's tracer, signals and all
    assert failed.failed()
    client.force_login(staff)

    jobs = {job["name"]: job for job in client.get("/ops/").context["ops"]["beat_jobs"]}
    outcome = jobs["meters-archive-daily"]["outcome"]
    assert outcome["ok"] is False and "not-a-folder" in outcome["error"]

    settings.ARCHIVE_DIR = tmp_path / "archive"
    assert meter_tasks.archive_yesterday.apply().successful()
    response = client.get("/ops/")
    jobs = {job["name"]: job for job in response.context["ops"]["beat_jobs"]}
    assert jobs["meters-archive-daily"]["outcome"]["ok"] is True
    assert "<strong>failed</strong>" not in response.text
