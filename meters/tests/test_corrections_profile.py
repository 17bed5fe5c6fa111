"""The arithmetic of estimates and of the plausibility rule, on its own (no database)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meters.services.corrections import _split
from meters.services.customer_reads import _percentile, kwh_text

WEIGHTS = st.lists(
    st.decimals(min_value=0, max_value=10, places=4, allow_nan=False), min_size=2, max_size=60
)
TOTALS = st.decimals(min_value=0, max_value=100_000, places=4, allow_nan=False)


@given(total=TOTALS, weights=WEIGHTS)
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_estimated_registers_climb_and_never_pass_the_reading_that_ends_the_gap(total, weights):
    shares = _split(total, weights)

    assert len(shares) == len(weights) - 1
    assert all(a <= b for a, b in zip([Decimal(0), *shares], [*shares, total], strict=True))
    assert all(share == share.quantize(Decimal("0.0001")) for share in shares)


def test_a_gap_without_a_profile_is_split_evenly():
    assert _split(Decimal(4), [Decimal(0)] * 4) == [Decimal(1), Decimal(2), Decimal(3)]


def test_the_percentile_is_nearest_rank():
    days = [Decimal(n) for n in range(1, 21)]  # 1..20 kWh
    assert _percentile(days, 95) == Decimal(19)
    assert _percentile([Decimal(7)], 95) == Decimal(7)


def test_registers_read_as_people_write_them():
    assert kwh_text(Decimal("12345.6000")) == "12,345.6"
    assert kwh_text(Decimal("300.0000")) == "300"
    assert kwh_text(Decimal("0.0500")) == "0.05"
