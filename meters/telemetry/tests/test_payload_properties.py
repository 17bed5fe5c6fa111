"""Property tests (hypothesis) of the payload paths from bytes to a reading or a coded refusal.

Whatever a message's bytes are, the meters' path (``services.sensor_message_reading``) gives a
valid ``ReadingIn`` (registers finite, not negative, within the column; powers finite and within
1 GW; a plausible time), the boot-zero skip, or a ``Refused`` with one of the known input codes —
never an exception and never ``error`` (the code of an unforeseen failure). The batteries' path
(``batteries.mqtt`` parsing into ``ReadingValues``) gives readings within their ranges at a
plausible time, or ``BadPayload`` with a known code. Bounded by ``max_examples`` to fit CI.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from batteries import mqtt as battery_mqtt
from batteries.models import Battery, BatteryFlag, BatteryStatus
from config.inputs import InputError, earliest_datetime, json_loads, max_clock_skew, to_decimal
from meters import services as meter_services
from meters.telemetry import payloads, services, topics

RECEIVED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SENSOR_CODES = {
    "not_json",
    "too_deep",
    "number_too_long",
    "not_finite",
    "nul_character",
    "out_of_range",
    "no_register",
    "negative_register",
}
BATTERY_CODES = {
    "not_json",
    "too_deep",
    "number_too_long",
    "not_finite",
    "nul_character",
    "bad_battery_payload",
}
FAST = hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# --- Strategies ------------------------------------------------------------------------------

number_literals = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**80), max_value=10**80).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,5})?", fullmatch=True),
    st.sampled_from(["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity"]),
    st.integers(min_value=60, max_value=5000).map(lambda n: "9" * n),
)
times = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(2026, 5, 30), max_value=datetime(2026, 6, 3)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")
    ),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-06-01T12:00"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    number_literals,
)


def _jsonable(value):
    return float(value) if isinstance(value, Decimal) else value


json_values = st.recursive(
    scalars.map(_jsonable),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
sensor_keys = st.sampled_from(
    [*{key for keys in payloads.DEFAULT_KEYS.values() for key in keys}, "total_IN", "", "Time"]
)
sensor_groups = st.dictionaries(sensor_keys, st.one_of(json_values, number_literals), max_size=8)


@st.composite
def sensor_documents(draw) -> bytes:
    """Tasmota-shaped JSON with arbitrary values, some as raw number literals (which
    ``json.dumps`` could not write: 1e400, NaN, a 5,000-digit integer)."""
    literals = {}

    def raw(value):
        if isinstance(value, str) and value and draw(st.booleans()):
            marker = f"@@{len(literals)}@@"
            literals[f'"{marker}"'] = value
            return marker
        return value

    group = {key: raw(value) for key, value in draw(sensor_groups).items()}
    if draw(st.booleans()):
        # Mostly plausible: a register a meter could show, so the accepting path is explored too.
        register = draw(
            st.one_of(
                st.decimals(min_value=0, max_value=10**10, places=4).map(str),
                st.floats(min_value=0, max_value=1e10).map(repr),
                st.integers(min_value=0, max_value=10**10).map(str),
            )
        )
        group = {draw(st.sampled_from(["Total_in", "E_in", "total_in"])): raw(register)} | group
    document = {"Time": draw(times), draw(st.sampled_from(["MT681", "SML", "X"])): group}
    if draw(st.booleans()):
        document[draw(st.text(max_size=8))] = draw(json_values)
    text = json.dumps(document, allow_nan=True)
    for marker, literal in literals.items():
        text = text.replace(marker, literal)
    return text.encode()


def mutated(data: bytes, cut: int, noise: bytes) -> bytes:
    cut = cut % (len(data) + 1)
    return data[:cut] + noise + data[cut:]


payload_bytes = st.one_of(
    st.binary(max_size=300),
    sensor_documents(),
    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.builds(
        mutated, sensor_documents(), st.integers(min_value=0), st.binary(min_size=1, max_size=4)
    ),
    st.integers(min_value=1, max_value=3000).map(lambda n: ("[" * n + "]" * n).encode()),
)

# --- Meters -----------------------------------------------------------------------------------


def assert_valid_reading(reading: meter_services.ReadingIn) -> None:
    for name in payloads.REGISTERS:
        value = getattr(reading, name)
        if value is None:
            assert name != "import_kwh"
            continue
        assert value.is_finite() and value >= 0
        to_decimal(
            value, max_digits=payloads.REGISTER_DIGITS, decimal_places=payloads.REGISTER_PLACES
        )
    for name in ("power_w", "power_l1_w", "power_l2_w", "power_l3_w"):
        value = getattr(reading, name)
        assert value is None or abs(value) <= payloads.MAX_ABS_WATTS
    ahead = timedelta(seconds=settings.TELEMETRY_TIME_MAX_AHEAD_SECONDS)
    behind = timedelta(seconds=settings.TELEMETRY_TIME_MAX_BEHIND_SECONDS)
    assert reading.at.tzinfo is not None
    assert RECEIVED_AT - behind <= reading.at <= RECEIVED_AT + ahead
    # A diagnostic only when the time is the receive time (#16), storable as JSON.
    if reading.raw is not None:
        assert reading.raw["time_source"] == payloads.TIME_FROM_RECEIPT
        assert reading.at == RECEIVED_AT
        json.dumps(reading.raw)


@FAST
@given(payload=st.one_of(payload_bytes, sensor_documents(), sensor_documents()))
def test_a_sensor_payload_becomes_a_valid_reading_a_skip_or_a_coded_refusal(payload):
    message = services.Message(topic="tele/d/SENSOR", payload=payload, received_at=RECEIVED_AT)

    fate = services.sensor_message_reading(message, meter_id="M1", device_topic="d")

    event(getattr(fate, "code", "reading" if fate != services.SKIP_BOOT_ZERO else fate))
    if isinstance(fate, services.Refused):
        assert fate.code in SENSOR_CODES, (fate, payload[:200])
    elif fate != services.SKIP_BOOT_ZERO:
        assert_valid_reading(fate)


def _strict_parse(payload: bytes):
    """What ``payloads.json_parse`` gives through the strict parser alone (the reference)."""
    try:
        data = json_loads(payload, object_pairs_hook=payloads._first_wins)
    except InputError as exc:
        return ("refused", exc.code)
    return data if isinstance(data, dict) else ("refused", "not_json")


def _parse(payload: bytes):
    try:
        return payloads.json_parse(payload)
    except payloads.PayloadError as exc:
        return ("refused", exc.code)


@st.composite
def documents_with_repeated_keys(draw) -> bytes:
    """A sensor document with a key repeated (the first number wins) or written with spaces
    before its colon, or an empty key: what the C parser's fast path must hand back."""
    text = draw(sensor_documents()).decode()
    key = draw(st.sampled_from(["Total_in", "Power_cur", "Time", ""]))
    value = draw(st.sampled_from(["1.5", '"x"', "null", "2", '{"a": 1}']))
    spaces = draw(st.sampled_from(["", " ", "\t", "\n "]))
    at = text.find("{", 1) if draw(st.booleans()) else 0
    at = max(at, 0)
    return (text[: at + 1] + f'"{key}"{spaces}: {value}, ' + text[at + 1 :]).encode()


@FAST
@given(payload=st.one_of(payload_bytes, sensor_documents(), documents_with_repeated_keys()))
def test_the_fast_json_path_parses_exactly_as_the_strict_one(payload):
    parsed = _parse(payload)

    event("fast" if payloads._fast_parse(payload) is not None else "strict")
    assert parsed == _strict_parse(payload)


def test_it_parses_the_first_of_repeated_keys_whatever_the_spacing():
    payload = b'{"MT681": {"Total_in" :1.5, "Total_in":2.5, "":7}, "Time":"2026-06-01T12:00"}'

    assert payloads._fast_parse(payload) is None
    assert payloads.json_parse(payload)["MT681"] == {"Total_in": Decimal("1.5")}
    assert payloads._fast_parse(b'{"MT681":{"Total_in":1.50}}') == {
        "MT681": {"Total_in": Decimal("1.50")}
    }


@FAST
@given(level=st.text(max_size=200), kind=st.sampled_from(["SENSOR", "sensor", "LWT", "x", ""]))
def test_a_topic_is_ours_not_ours_or_refused_with_a_code(level, kind):
    topic = f"tele/{level}/{kind}"
    try:
        parsed = topics.topic_parse(topic, tele_root="tele", batteries_root="batteries")
    except payloads.PayloadError as exc:
        assert exc.code in {"empty_device", "device_too_long", "unknown_topic_kind"}
        return
    if parsed is not None:
        assert parsed.device.strip("/") and len(parsed.device) <= payloads.DEVICE_MAX_LENGTH


# --- Batteries --------------------------------------------------------------------------------

battery_fields = st.sampled_from(
    ["timestamp", "soc_percent", "power_kw", "voltage_v", "temperature_c", "status", "flag"]
)
battery_values = st.one_of(
    json_values,
    st.sampled_from([*BatteryStatus.values, *BatteryFlag.values]),
    st.integers(min_value=-200, max_value=200),
    times,
)


@st.composite
def battery_documents(draw) -> bytes:
    def one():
        good = {
            "soc_percent": 50,
            "power_kw": -1.5,
            "voltage_v": 51,
            "temperature_c": 20,
            "status": "idle",
        }
        return good | draw(st.dictionaries(battery_fields, battery_values, max_size=2))

    document = [one() for _ in range(draw(st.integers(0, 3)))] if draw(st.booleans()) else one()
    return json.dumps(document, allow_nan=True).encode()


@FAST
@given(payload=st.one_of(payload_bytes, battery_documents(), battery_documents()))
def test_a_battery_payload_becomes_valid_readings_or_a_coded_refusal(payload):
    battery = Battery(identifier="B1")
    now = datetime.now(UTC)
    try:
        readings = battery_mqtt._readings("B1", payload, now, battery)
    except battery_mqtt.BadPayload as exc:
        event(exc.code)
        assert exc.code in BATTERY_CODES, (exc, payload[:200])
        return
    event("readings")
    assert 1 <= len(readings) <= battery_mqtt.MAX_READINGS_PER_MESSAGE
    for _, values in readings:
        assert earliest_datetime() <= values.at <= datetime.now(UTC) + max_clock_skew()
        assert 0 <= values.soc_percent <= 100
        assert -1000 <= values.power_kw <= 1000
        assert 0 <= values.voltage_v <= 10_000
        assert -50 <= values.temperature_c <= 100
        assert values.status in BatteryStatus.values and values.flag in BatteryFlag.values
