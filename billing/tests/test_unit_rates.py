"""The price feed's one validator and store (billing.services.unit_rates): a day is whole or
refused, negative prices are fine, a replay changes nothing."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import HalfHourRate
from billing.tests.factories import TariffFactory, agile_tariff
from config.exceptions import Conflict, InvalidInput
from meters.timeutils import HALF_HOUR, day_bounds

pytestmark = pytest.mark.django_db

LONDON = timezone.get_default_timezone()
DAY = date(2026, 1, 15)


def day_rates(day: date = DAY, values=None, *, as_text: bool = True) -> list[dict]:
    start, end = day_bounds(day, LONDON)
    n = int((end - start) / HALF_HOUR)
    values = values if values is not None else [f"0.{10 + k:02d}" for k in range(n)]
    return [
        {
            "valid_from": (start + k * HALF_HOUR).isoformat() if as_text else start + k * HALF_HOUR,
            "value_exc_vat": value,
        }
        for k, value in enumerate(values)
    ]


def stored(tariff, direction="import") -> dict:
    return dict(
        HalfHourRate.objects.filter(tariff=tariff, direction=direction).values_list(
            "valid_from", "value_exc_vat"
        )
    )


@pytest.fixture
def agile():
    return agile_tariff()


def refusal(tariff, rates, day=DAY, direction="import") -> dict:
    with pytest.raises(InvalidInput) as refused:
        services.unit_rates_set_day(tariff=tariff, day=day, direction=direction, rates=rates)
    return refused.value.errors


def test_it_stores_a_days_rates_and_a_replay_changes_nothing(agile):
    first = services.unit_rates_set_day(
        tariff=agile, day=DAY, direction="import", rates=day_rates()
    )
    assert (first.created, first.changed, first.unchanged) == (48, 0, 0)
    before = stored(agile)
    again = services.unit_rates_set_day(
        tariff=agile, day=DAY, direction="import", rates=day_rates()
    )
    assert (again.created, again.changed, again.unchanged) == (0, 0, 48)
    assert stored(agile) == before
    assert before[datetime(2026, 1, 15, 0, 0, tzinfo=UTC)] == Decimal("0.10")
    assert len(before) == 48


def test_it_replaces_a_days_values_with_a_corrected_feed(agile):
    services.unit_rates_set_day(tariff=agile, day=DAY, direction="import", rates=day_rates())
    corrected = day_rates(values=["0.99"] * 48)
    result = services.unit_rates_set_day(tariff=agile, day=DAY, direction="import", rates=corrected)
    assert (result.created, result.changed, result.unchanged) == (0, 48, 0)
    assert set(stored(agile).values()) == {Decimal("0.99")}


def test_it_accepts_negative_prices_within_the_bound_and_rounds_to_five_places(agile):
    values = ["-0.05", -1, "10.00", 0.123456789] + ["0.2"] * 44
    services.unit_rates_set_day(
        tariff=agile, day=DAY, direction="import", rates=day_rates(values=values)
    )
    rows = [value for _, value in sorted(stored(agile).items())]
    assert rows[:4] == [Decimal("-0.05"), Decimal("-1"), Decimal("10"), Decimal("0.12346")]


def test_it_takes_rates_in_any_order_and_naive_times_as_local(agile):
    rates = day_rates(date(2026, 6, 10), as_text=False)
    naive = [
        {
            "valid_from": r["valid_from"].astimezone(LONDON).replace(tzinfo=None),
            **{"value_exc_vat": r["value_exc_vat"]},
        }
        for r in reversed(rates)
    ]
    services.unit_rates_set_day(
        tariff=agile, day=date(2026, 6, 10), direction="import", rates=naive
    )
    assert min(stored(agile)) == datetime(2026, 6, 9, 23, 0, tzinfo=UTC)  # local midnight, BST


@pytest.mark.parametrize(("day", "count"), [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50)])
def test_it_takes_46_or_50_rates_on_clock_change_days(agile, day, count):
    result = services.unit_rates_set_day(
        tariff=agile, day=day, direction="import", rates=day_rates(day)
    )
    assert result.created == count


def test_it_refuses_a_wrong_count_naming_the_days_half_hours(agile):
    errors = refusal(agile, day_rates(date(2026, 10, 25))[:48], day=date(2026, 10, 25))
    assert errors == {"rates": ["2026-10-25 has 50 half-hours (local time); got 48."]}
    assert stored(agile) == {}


def test_it_refuses_a_duplicate_naming_both_entries(agile):
    rates = day_rates()
    rates[5] = dict(rates[4])
    errors = refusal(agile, rates)
    assert errors == {"rates[5].valid_from": ["2026-01-15T02:00Z is given twice (also rates[4])."]}


def test_it_refuses_a_gap_naming_the_missing_half_hour(agile):
    rates = day_rates()
    start, _ = day_bounds(DAY, LONDON)
    rates[10]["valid_from"] = (start - HALF_HOUR).isoformat()  # the day before: out, and a gap
    errors = refusal(agile, rates)
    assert errors == {
        "rates[10].valid_from": ["must be the start of a half-hour of the local day 2026-01-15."]
    }
    rates[10]["valid_from"] = (start + 10 * HALF_HOUR + timedelta(minutes=15)).isoformat()
    assert "rates[10].valid_from" in refusal(agile, rates)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("-1.00001", "outside -1.00 to 10.00"),
        ("10.5", "outside -1.00 to 10.00"),
        ("24.15", "not pence"),
        ("NaN", "finite"),
        ("1e400", "too large"),
        ("cheap", "not a number"),
        (True, "A number is required"),
        (None, "is required"),
    ],
)
def test_it_refuses_a_value_out_of_range_or_not_a_number_naming_the_entry(agile, value, rule):
    rates = day_rates()
    rates[7]["value_exc_vat"] = value
    errors = refusal(agile, rates)
    assert list(errors) == ["rates[7].value_exc_vat"]
    assert rule in errors["rates[7].value_exc_vat"][0]
    assert stored(agile) == {}


def test_it_refuses_bad_datetimes_and_a_wrong_valid_to(agile):
    rates = day_rates(date(2026, 10, 25))
    rates[0]["valid_from"] = "yesterday"
    rates[1]["valid_from"] = "2026-10-25T01:30"  # occurs twice that night: needs an offset
    rates[2]["valid_to"] = rates[2]["valid_from"]
    rates[3]["valid_from"] = "2026-10-25T00:00+15:00"
    errors = refusal(agile, rates, day=date(2026, 10, 25))
    assert "Not an ISO 8601 datetime" in errors["rates[0].valid_from"][0]
    assert "occurs twice" in errors["rates[1].valid_from"][0]
    assert errors["rates[2].valid_to"] == ["must be valid_from + 30 minutes."]
    assert "±14:00" in errors["rates[3].valid_from"][0]


def test_it_refuses_entries_that_are_not_objects_and_a_body_that_is_not_a_list(agile):
    rates = day_rates()
    rates[0] = "0.25"
    assert refusal(agile, rates) == {
        "rates[0]": ["must be an object with valid_from and value_exc_vat."]
    }
    assert refusal(agile, "0.25") == {"rates": ["must be a list of half-hours."]}


def test_it_refuses_a_tariff_that_is_not_dynamic_in_that_direction(agile):
    with pytest.raises(Conflict) as refused:
        services.unit_rates_set_day(tariff=agile, day=DAY, direction="export", rates=day_rates())
    assert refused.value.field == "direction"
    with pytest.raises(Conflict):
        services.unit_rates_set_day(
            tariff=TariffFactory(), day=DAY, direction="import", rates=day_rates()
        )


def test_it_refuses_a_day_outside_the_tariff_or_too_far_ahead(agile):
    assert "day" in refusal(agile, day_rates(date(2019, 12, 31)), day=date(2019, 12, 31))
    far = timezone.localdate() + timedelta(days=400)
    assert "day" in refusal(agile, day_rates(far), day=far)


def test_it_stores_several_days_only_when_every_day_is_good(agile):
    good, bad = day_rates(DAY), day_rates(DAY + timedelta(days=1))
    bad[3]["value_exc_vat"] = "99"
    with pytest.raises(InvalidInput) as refused:
        services.unit_rates_set_days(
            tariff=agile, direction="import", days={DAY: good, DAY + timedelta(days=1): bad}
        )
    assert list(refused.value.errors) == ["2026-01-16: rates[3].value_exc_vat"]
    assert stored(agile) == {}
    results = services.unit_rates_set_days(
        tariff=agile,
        direction="import",
        days={DAY: good, DAY + timedelta(days=2): day_rates(DAY + timedelta(days=2))},
    )
    assert [r.created for r in results] == [48, 48]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.one_of(
            st.decimals(allow_nan=True, allow_infinity=True, places=6),
            st.floats(),
            st.integers(),
            st.text(max_size=8),
            st.none(),
        ),
        min_size=48,
        max_size=48,
    )
)
def test_it_answers_any_values_by_storing_them_in_range_or_refusing_naming_the_entry(agile, values):
    rates = day_rates(values=values)
    try:
        services.unit_rates_set_day(tariff=agile, day=DAY, direction="import", rates=rates)
    except InvalidInput as exc:
        assert all(
            field.startswith("rates[") and field.endswith("].value_exc_vat") for field in exc.errors
        )
    else:
        assert all(Decimal(-1) <= value <= Decimal(10) for value in stored(agile).values())
        assert len(stored(agile)) == 48
