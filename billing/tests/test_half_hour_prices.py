"""billing.selectors.half_hour_prices: every half-hour of a range priced by the account's tariff
of its local day (Europe/London), as the planner and the dashboard read prices."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.utils import timezone

from billing import selectors
from billing.tests.factories import (
    TariffAssignmentFactory,
    TariffFactory,
    agile_tariff,
    economy7_tariff,
    half_hour_rates_store,
)
from config.exceptions import InvalidInput
from meters.timeutils import HALF_HOUR, day_bounds

pytestmark = pytest.mark.django_db

LONDON = timezone.get_default_timezone()


def day_range(day: date) -> tuple[datetime, datetime]:
    return day_bounds(day, LONDON)


def pence(n) -> Decimal:
    return (Decimal(n) / 100).quantize(Decimal("0.00001"))


def test_it_prices_every_half_hour_of_a_flat_tariff_with_and_without_vat(customer_account):
    TariffAssignmentFactory(account=customer_account, tariff=TariffFactory())
    start, end = day_range(date(2026, 6, 10))
    prices = selectors.half_hour_prices(account=customer_account, start=start, end=end)
    assert len(prices) == 48
    assert prices[0].valid_from == start and prices[-1].valid_to == end
    assert all(p.valid_to - p.valid_from == HALF_HOUR for p in prices)
    assert {(p.value_exc_vat, p.value_inc_vat) for p in prices} == {
        (Decimal("0.28"), Decimal("0.29400"))
    }


def test_it_prices_time_of_use_half_hours_by_their_local_band(customer_account):
    TariffAssignmentFactory(account=customer_account, tariff=economy7_tariff())
    start, end = day_range(date(2026, 6, 10))  # BST: local midnight is 23:00 UTC
    prices = selectors.half_hour_prices(account=customer_account, start=start, end=end)
    by_utc = {p.valid_from: p.value_exc_vat for p in prices}
    assert by_utc[datetime(2026, 6, 9, 23, 0, tzinfo=UTC)] == Decimal("0.30")  # 00:00 local
    assert by_utc[datetime(2026, 6, 9, 23, 30, tzinfo=UTC)] == Decimal("0.09")  # 00:30 local
    assert by_utc[datetime(2026, 6, 10, 6, 0, tzinfo=UTC)] == Decimal("0.09")  # 07:00 local
    assert by_utc[datetime(2026, 6, 10, 6, 30, tzinfo=UTC)] == Decimal("0.30")  # 07:30 local
    assert sum(1 for value in by_utc.values() if value == Decimal("0.09")) == 14


def test_it_prices_a_dynamic_tariff_from_its_half_hourly_rates(customer_account):
    tariff = agile_tariff(vat_rate=Decimal("0.05"))
    TariffAssignmentFactory(account=customer_account, tariff=tariff)
    day = date(2026, 1, 15)
    values = [pence(n) for n in range(48)]
    values[3] = Decimal("-0.04321")  # negative prices happen, and keep their sign
    half_hour_rates_store(tariff=tariff, day=day, values=values)
    prices = selectors.half_hour_prices(
        account=customer_account, start=day_range(day)[0], end=day_range(day)[1]
    )
    assert [p.value_exc_vat for p in prices] == values
    assert prices[3].value_inc_vat == Decimal("-0.04537")
    assert prices[47].value_inc_vat == Decimal("0.49350")


def test_it_says_none_for_a_half_hour_without_a_rate_or_a_tariff(customer_account):
    tariff = agile_tariff()
    TariffAssignmentFactory(account=customer_account, tariff=tariff, starts_on=date(2026, 1, 15))
    day = date(2026, 1, 15)
    values = [pence(20)] * 48
    half_hour_rates_store(tariff=tariff, day=day, values=values[:47])  # the last one is missing
    start = day_range(day)[0] - 4 * HALF_HOUR  # two hours of the day before: no tariff yet
    prices = selectors.half_hour_prices(
        account=customer_account, start=start, end=day_range(day)[1]
    )
    assert len(prices) == 52
    assert [p.value_exc_vat for p in prices[:4]] == [None] * 4
    assert [p.value_inc_vat for p in prices[:4]] == [None] * 4
    assert [p.value_exc_vat for p in prices[4:51]] == [pence(20)] * 47
    assert prices[51].value_exc_vat is None and prices[51].value_inc_vat is None


@pytest.mark.parametrize(
    ("day", "half_hours"),
    [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50), (date(2026, 3, 28), 48)],
)
def test_it_gives_the_clock_change_days_their_46_or_50_half_hours(
    customer_account, day, half_hours
):
    tariff = agile_tariff()
    TariffAssignmentFactory(account=customer_account, tariff=tariff)
    values = [pence(10 + k) for k in range(half_hours)]
    half_hour_rates_store(tariff=tariff, day=day, values=values)
    start, end = day_range(day)
    prices = selectors.half_hour_prices(account=customer_account, start=start, end=end)
    assert len(prices) == half_hours
    assert [p.value_exc_vat for p in prices] == values
    assert all(b.valid_from == a.valid_to for a, b in pairwise(prices))


def test_it_gives_a_day_on_a_new_tariff_that_tariffs_prices(customer_account):
    first = TariffFactory()  # flat 28p until the 14th
    second = agile_tariff()
    TariffAssignmentFactory(
        account=customer_account,
        tariff=first,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 1, 14),
    )
    TariffAssignmentFactory(account=customer_account, tariff=second, starts_on=date(2026, 1, 15))
    half_hour_rates_store(tariff=second, day=date(2026, 1, 15), values=[pence(7)] * 48)
    start, end = day_range(date(2026, 1, 14))[0], day_range(date(2026, 1, 15))[1]
    prices = selectors.half_hour_prices(account=customer_account, start=start, end=end)
    assert [p.value_exc_vat for p in prices] == [Decimal("0.28")] * 48 + [pence(7)] * 48


def test_it_prices_export_at_the_flat_export_rate_outside_vat(customer_account):
    TariffAssignmentFactory(
        account=customer_account, tariff=TariffFactory(export_rate=Decimal("0.15"))
    )
    start, end = day_range(date(2026, 6, 10))
    prices = selectors.half_hour_prices(
        account=customer_account, start=start, end=end, direction="export"
    )
    assert {(p.value_exc_vat, p.value_inc_vat) for p in prices} == {
        (Decimal("0.15"), Decimal("0.15000"))
    }


def test_it_prices_export_from_dynamic_export_rates_and_none_without_an_export_rate(
    customer_account,
):
    tariff = TariffFactory(export_dynamic=True)
    TariffAssignmentFactory(account=customer_account, tariff=tariff)
    day = date(2026, 6, 10)
    half_hour_rates_store(tariff=tariff, day=day, values=[pence(5)] * 48, direction="export")
    half_hour_rates_store(tariff=tariff, day=day, values=[pence(99)] * 48)  # import: not used
    start, end = day_range(day)
    exported = selectors.half_hour_prices(
        account=customer_account, start=start, end=end, direction="export"
    )
    imported = selectors.half_hour_prices(account=customer_account, start=start, end=end)
    assert {p.value_exc_vat for p in exported} == {pence(5)}
    assert {p.value_exc_vat for p in imported} == {Decimal("0.28")}  # its band: import is flat
    flat = TariffFactory()  # no export_rate
    other = TariffAssignmentFactory(tariff=flat).account
    none = selectors.half_hour_prices(account=other, start=start, end=end, direction="export")
    assert {p.value_exc_vat for p in none} == {None}


def test_it_answers_an_empty_range_with_no_half_hours(customer_account):
    start, _ = day_range(date(2026, 6, 10))
    assert selectors.half_hour_prices(account=customer_account, start=start, end=start) == []


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2026, 6, 10, 0, 0), datetime(2026, 6, 10, 1, 0, tzinfo=UTC), "start"),
        (
            datetime(2026, 6, 10, 0, 15, tzinfo=UTC),
            datetime(2026, 6, 10, 1, 0, tzinfo=UTC),
            "start",
        ),
        (
            datetime(2026, 6, 10, 0, 0, tzinfo=UTC),
            datetime(2026, 6, 10, 1, 0, 1, tzinfo=UTC),
            "end",
        ),
        (datetime(2026, 6, 10, 1, 0, tzinfo=UTC), datetime(2026, 6, 10, 0, 0, tzinfo=UTC), "end"),
    ],
)
def test_it_refuses_a_range_that_is_naive_unaligned_or_backwards(
    customer_account, start, end, field
):
    with pytest.raises(InvalidInput) as refused:
        selectors.half_hour_prices(account=customer_account, start=start, end=end)
    assert field in refused.value.errors


def test_it_refuses_an_unknown_direction(customer_account):
    start = datetime(2026, 6, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput) as refused:
        selectors.half_hour_prices(
            account=customer_account, start=start, end=start + timedelta(hours=1), direction="both"
        )
    assert "direction" in refused.value.errors


@pytest.fixture
def customer_account(customer):
    return customer.customer_accounts.get()


def test_it_gives_the_current_half_hours_feed_rate_as_the_price_now(customer_account):
    tariff = agile_tariff()
    TariffAssignmentFactory(account=customer_account, tariff=tariff)
    assert selectors.unit_rate_now(account=customer_account) is None  # no rate stored yet
    today = timezone.localdate()
    n = int((day_range(today)[1] - day_range(today)[0]) / HALF_HOUR)
    half_hour_rates_store(tariff=tariff, day=today, values=[pence(k) for k in range(n)])
    before = int((timezone.now() - day_range(today)[0]) / HALF_HOUR)
    rate = selectors.unit_rate_now(account=customer_account)
    after = int((timezone.now() - day_range(today)[0]) / HALF_HOUR)  # the same unless on :00/:30
    assert rate.unit_rate in {pence(before), pence(after)}
    assert rate.vat_rate == Decimal("0.05")


def test_it_calls_a_dynamic_half_hour_cheap_or_peak_by_its_place_in_the_day(customer_account):
    tariff = agile_tariff()
    TariffAssignmentFactory(account=customer_account, tariff=tariff)
    day = date(2026, 6, 10)
    half_hour_rates_store(tariff=tariff, day=day, values=[pence(k) for k in range(47)])
    start, _ = day_range(day)
    window = [
        selectors.tariff_window_at(account=customer_account, at=start + k * HALF_HOUR)
        for k in range(48)
    ]
    assert window[:11] == ["cheap"] * 11  # a quarter of the 47 known prices
    assert window[11:36] == ["standard"] * 25
    assert window[36:47] == ["peak"] * 11
    assert window[47] is None  # its price is missing
