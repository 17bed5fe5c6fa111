"""The shared validators every door uses (config/inputs.py): whatever a client sends, the answer
is a value or an InputError with a code, never another exception."""

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from config import inputs
from config.inputs import InputError


def codes_of(call) -> str:
    with pytest.raises(InputError) as raised:
        call()
    return raised.value.code


class TestJson:
    def test_it_parses_objects_with_decimal_numbers(self):
        assert inputs.json_loads(b'{"Total_in": 186.7106, "n": 3}') == {
            "Total_in": Decimal("186.7106"),
            "n": 3,
        }

    def test_it_parses_floats_when_asked(self):
        assert inputs.json_loads("[1.5]", decimals=False) == [1.5]

    def test_it_refuses_deep_nesting_without_recursing(self):
        assert codes_of(lambda: inputs.json_loads("[" * 100_000 + "]" * 100_000)) == "too_deep"
        assert codes_of(lambda: inputs.json_loads('{"a":' * 10_000 + "1" + "}" * 10_000)) == (
            "too_deep"
        )

    def test_it_counts_brackets_inside_strings_as_text(self):
        text = json.dumps({"note": "[" * 1000})
        assert inputs.json_loads(text) == {"note": "[" * 1000}

    def test_it_accepts_nesting_up_to_the_limit(self):
        limit = inputs.DEFAULT_MAX_JSON_DEPTH
        assert inputs.json_loads("[" * limit + "]" * limit) is not None
        assert codes_of(lambda: inputs.json_loads("[" * (limit + 1) + "]" * (limit + 1))) == (
            "too_deep"
        )

    @pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
    def test_it_refuses_nan_and_infinity(self, text):
        assert codes_of(lambda: inputs.json_loads(text)) == "not_finite"

    def test_it_refuses_float_overflow_when_reading_floats(self):
        assert codes_of(lambda: inputs.json_loads("[1e400]", decimals=False)) == "not_finite"

    def test_it_refuses_a_megabyte_of_digits(self):
        assert codes_of(lambda: inputs.json_loads("[" + "9" * 1_000_000 + "]")) == (
            "number_too_long"
        )
        assert codes_of(lambda: inputs.json_loads("[0." + "9" * 1_000_000 + "]")) == (
            "number_too_long"
        )

    def test_it_refuses_escaped_nul_in_values_and_keys(self):
        assert codes_of(lambda: inputs.json_loads('{"a": "x\\u0000"}')) == "nul_character"
        assert codes_of(lambda: inputs.json_loads('{"\\u0000": 1}')) == "nul_character"

    def test_it_refuses_bytes_that_are_not_utf8_or_json(self):
        assert codes_of(lambda: inputs.json_loads(b"\xff\xfe")) == "not_json"
        assert codes_of(lambda: inputs.json_loads(b"{")) == "not_json"
        assert codes_of(lambda: inputs.json_loads('"raw\x00nul"')) == "not_json"

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
    def test_it_answers_any_bytes_with_a_value_or_an_input_error(self, data):
        with contextlib.suppress(InputError):
            inputs.json_loads(data)


class TestDecimal:
    def test_it_rounds_to_the_places_of_the_column(self):
        assert inputs.to_decimal("186.71064", max_digits=12, decimal_places=4) == Decimal(
            "186.7106"
        )
        assert inputs.to_decimal(3, max_digits=5, decimal_places=2) == Decimal("3.00")
        assert inputs.to_decimal(0.1, max_digits=5, decimal_places=2) == Decimal("0.10")

    @pytest.mark.parametrize(
        ("value", "code"),
        [
            ("1e400", "out_of_range"),
            (Decimal("1e25"), "out_of_range"),
            ("1" + "0" * 400, "number_too_long"),
            (10**400, "out_of_range"),
            ("NaN", "not_finite"),
            ("-Infinity", "not_finite"),
            (float("inf"), "not_finite"),
            ("abc", "not_a_number"),
            (True, "not_a_number"),
            (None, "not_a_number"),
            ([1], "not_a_number"),
        ],
    )
    def test_it_refuses_what_the_column_cannot_hold(self, value, code):
        assert codes_of(lambda: inputs.to_decimal(value, max_digits=12, decimal_places=4)) == code

    def test_it_keeps_tiny_numbers_as_zero(self):
        assert inputs.to_decimal("1e-400", max_digits=12, decimal_places=4) == Decimal("0.0000")

    @settings(max_examples=300, deadline=None)
    @given(
        st.one_of(
            st.decimals(allow_nan=True, allow_infinity=True),
            st.floats(),
            st.integers(),
            st.text(max_size=80),
        )
    )
    def test_it_answers_any_value_with_a_bounded_decimal_or_an_input_error(self, value):
        try:
            number = inputs.to_decimal(value, max_digits=12, decimal_places=4)
        except InputError:
            return
        assert abs(number) < Decimal(10) ** 8


class TestDatetime:
    NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    def test_it_accepts_a_plausible_time_and_converts_it_to_utc(self):
        at = datetime(2026, 12, 2, 13, 0, tzinfo=timezone(timedelta(hours=1)))
        assert inputs.datetime_plausible(at, now=self.NOW) == self.NOW

    @pytest.mark.parametrize(
        ("value", "code"),
        [
            (datetime(1970, 1, 1, tzinfo=UTC), "too_early"),
            (datetime(1, 1, 1, tzinfo=UTC), "too_early"),
            (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), "out_of_range"),
            (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), "out_of_range"),
            (datetime(2026, 12, 2, 13, 0, tzinfo=UTC), "in_future"),
            (datetime(2026, 12, 2, tzinfo=timezone(timedelta(hours=15))), "bad_offset"),
            (datetime(2026, 12, 2), "bad_datetime"),
        ],
    )
    def test_it_refuses_implausible_times(self, value, code):
        assert codes_of(lambda: inputs.datetime_plausible(value, now=self.NOW)) == code

    def test_it_refuses_times_before_commissioning(self):
        commissioned = datetime(2026, 6, 1, tzinfo=UTC)
        assert (
            codes_of(
                lambda: inputs.datetime_plausible(
                    datetime(2026, 5, 31, tzinfo=UTC), not_before=commissioned, now=self.NOW
                )
            )
            == "too_early"
        )

    @override_settings(INPUT_EARLIEST_DATETIME=datetime(2020, 1, 1))
    def test_it_reads_the_earliest_date_from_settings(self):
        assert (
            codes_of(
                lambda: inputs.datetime_plausible(datetime(2019, 12, 31, tzinfo=UTC), now=self.NOW)
            )
            == "too_early"
        )

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("2026-12-02T12:00+23:59", "bad_offset"),
            ("2026-13-01T00:00Z", "bad_datetime"),
            ("2026-12-02T12:00\x00", "bad_datetime"),
            ("x" * 1000, "bad_datetime"),
        ],
    )
    def test_it_parses_only_iso_texts_with_sane_offsets(self, text, code):
        assert codes_of(lambda: inputs.datetime_parse(text)) == code

    def test_it_takes_any_comparable_instant_as_a_query_bound(self):
        assert inputs.datetime_bound(datetime(1, 1, 2, tzinfo=UTC)).year == 1
        assert inputs.datetime_bound(datetime(2100, 1, 1)).tzinfo is UTC
        far = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))
        assert codes_of(lambda: inputs.datetime_bound(far)) == "out_of_range"

    @settings(max_examples=300, deadline=None)
    @given(
        st.datetimes(
            timezones=st.builds(
                timezone,
                st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23)),
            )
        )
    )
    def test_it_answers_any_aware_datetime_with_utc_or_an_input_error(self, value):
        try:
            at = inputs.datetime_plausible(value, now=self.NOW)
        except InputError:
            return
        assert at.tzinfo is UTC
        assert inputs.earliest_datetime() <= at <= self.NOW + inputs.max_clock_skew()


class TestMonthAndText:
    def test_it_refuses_month_one_of_year_one_and_future_months(self):
        assert codes_of(lambda: inputs.month_plausible(1, 1)) == "too_early"
        assert codes_of(lambda: inputs.month_plausible(9999, 12)) == "in_future"
        inputs.month_plausible(2025, 1)

    def test_it_refuses_nul_in_text(self):
        assert codes_of(lambda: inputs.text_check("a\x00b")) == "nul_character"
        assert inputs.text_check("plain") == "plain"
