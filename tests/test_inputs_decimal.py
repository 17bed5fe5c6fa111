"""``config.inputs.to_decimal`` caches its rounding context and quantum per column shape. It is
the shared validator of every door, so the cached version must accept, refuse and round exactly
as the version that built them on every call did: that version is kept here, verbatim, as the
oracle, and compared with the real one on arbitrary strings, floats, integers, decimals and
other values, for every column shape a DecimalField can have (1 to 40 digits, 0 to all of them
after the point)."""

import decimal
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from config import inputs
from config.inputs import MAX_NUMBER_LENGTH, InputError


def to_decimal_before_caching(value: Any, *, max_digits: int, decimal_places: int) -> Decimal:
    """to_decimal as it was at e48c962 (a Context and a quantum built on every call)."""
    if isinstance(value, bool) or value is None:
        raise InputError("not_a_number", "A number is required.")
    if isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_NUMBER_LENGTH:
            raise InputError(
                "number_too_long", f"A number has at most {MAX_NUMBER_LENGTH} characters."
            )
    elif isinstance(value, float):
        value = repr(value)
    elif not isinstance(value, int | Decimal):
        raise InputError("not_a_number", f"A number is required, not {type(value).__name__}.")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InputError("not_a_number", f"{str(value)[:40]!r} is not a number.") from exc
    if not number.is_finite():
        raise InputError("not_finite", "The number must be finite (not NaN or Infinity).")
    whole_digits = max_digits - decimal_places
    if number and number.adjusted() >= whole_digits:
        raise InputError(
            "out_of_range",
            f"The number is too large: at most {whole_digits} digits before the decimal point.",
        )
    try:
        return number.quantize(
            Decimal(1).scaleb(-decimal_places),
            rounding=ROUND_HALF_EVEN,
            context=Context(prec=max_digits + 1),
        )
    except InvalidOperation as exc:
        raise InputError("out_of_range", "The number does not fit.") from exc


def outcome(function, value, shape):
    """What a caller sees: the exact Decimal (its digits, exponent and sign, as text), or the
    error's class, code and message."""
    max_digits, decimal_places = shape
    try:
        result = function(value, max_digits=max_digits, decimal_places=decimal_places)
    except InputError as exc:
        return ("error", exc.code, exc.message, type(exc.__cause__))
    return ("value", type(result), str(result), result.as_tuple())


# Text that looks like a number more often than arbitrary text does: signs, digits, points,
# exponents, underscores (Decimal accepts "1_000"), spaces, and the special values' names.
NUMBER_ALPHABET = "0123456789+-.eE_ \t\n" + "naNIfinitysS"
numberish = st.text(alphabet=NUMBER_ALPHABET, max_size=70)
values = st.one_of(
    numberish,
    st.text(max_size=80),
    st.floats(),
    st.floats(min_value=-1e12, max_value=1e12),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(places=8, min_value=-(10**12), max_value=10**12),
    st.builds(
        lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.integers(min_value=-1_000_000, max_value=1_000_000),
    ),
    st.sampled_from([True, False, None, [1], {"a": 1}, b"12", 1j, Decimal("-0"), -0.0]),
)
shapes = st.integers(min_value=1, max_value=40).flatmap(
    lambda digits: st.tuples(st.just(digits), st.integers(min_value=0, max_value=digits))
)


@settings(max_examples=2000, deadline=None)
@given(value=values, shape=shapes)
def test_it_answers_every_value_as_before_caching(value, shape):
    assert outcome(inputs.to_decimal, value, shape) == outcome(
        to_decimal_before_caching, value, shape
    )


@settings(max_examples=300, deadline=None)
@given(calls=st.lists(st.tuples(values, shapes), min_size=2, max_size=20))
def test_it_answers_a_sequence_of_shapes_as_before_caching(calls):
    """Each column shape keeps its own context and quantum, whatever came before."""
    for value, shape in calls:
        assert outcome(inputs.to_decimal, value, shape) == outcome(
            to_decimal_before_caching, value, shape
        )


@settings(max_examples=300, deadline=None)
@given(
    value=values,
    shape=shapes,
    precision=st.integers(min_value=1, max_value=50),
    rounding=st.sampled_from([decimal.ROUND_DOWN, decimal.ROUND_UP, decimal.ROUND_FLOOR]),
)
def test_it_ignores_the_callers_decimal_context_as_before(value, shape, precision, rounding):
    with decimal.localcontext(prec=precision, rounding=rounding):
        assert outcome(inputs.to_decimal, value, shape) == outcome(
            to_decimal_before_caching, value, shape
        )


def test_it_leaves_no_condition_of_one_call_to_trap_the_next():
    """The shared context collects flags (Inexact, Rounded) from earlier calls; a later exact
    call still answers, and an out-of-range one still says why."""
    assert inputs.to_decimal("1.23456789", max_digits=12, decimal_places=4) == Decimal("1.2346")
    assert str(inputs.to_decimal("2", max_digits=12, decimal_places=4)) == "2.0000"
    assert outcome(inputs.to_decimal, "1e9", (12, 4))[:2] == ("error", "out_of_range")
    assert str(inputs.to_decimal("0.00005", max_digits=12, decimal_places=4)) == "0.0000"
    assert str(inputs.to_decimal("0.00015", max_digits=12, decimal_places=4)) == "0.0002"
