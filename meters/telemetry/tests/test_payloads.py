from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from meters.telemetry.payloads import (
    TIME_FROM_PAYLOAD,
    TIME_FROM_RECEIPT,
    PayloadError,
    json_parse,
    lwt_parse,
    overrides_validate,
    reading_time,
    sensor_map,
    sensor_require_register,
)
from meters.telemetry.topics import Topic, topic_parse

LONDON = ZoneInfo("Europe/London")


def mapped(text: str, overrides=None):
    return sensor_map(json_parse(text.encode()), overrides)


# --- Topics -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("tele/house1/SENSOR", Topic("SENSOR", "house1")),
        ("tele/house1/LWT", Topic("LWT", "house1")),
        ("tele/house1/STATE", Topic("STATE", "house1")),
        ("tele/street/house1/SENSOR", Topic("SENSOR", "street/house1")),
        ("batteries/B-1/telemetry", Topic("battery_telemetry", "B-1")),
        ("batteries/B-1/cmd/ack", Topic("battery_ack", "B-1")),
        ("tele/house1/RESULT", None),
        ("tele/SENSOR", None),
        ("stat/house1/POWER", None),
        ("batteries/B-1/cmd", None),
        ("television/x/SENSOR", None),
    ],
)
def test_it_recognises_telemetry_topics(topic, expected):
    assert topic_parse(topic, tele_root="tele", batteries_root="batteries") == expected


@pytest.mark.parametrize(
    ("topic", "code"),
    [
        ("tele//SENSOR", "empty_device"),
        ("tele///SENSOR", "empty_device"),
        ("batteries//telemetry", "empty_device"),
        ("batteries//cmd/ack", "empty_device"),
        (f"tele/{'d' * 129}/SENSOR", "device_too_long"),
        (f"batteries/{'b' * 129}/telemetry", "device_too_long"),
        ("tele/house1/sensor", "unknown_topic_kind"),
        ("tele/house1/Lwt", "unknown_topic_kind"),
    ],
)
def test_it_refuses_a_topic_meant_for_us_that_cannot_be_used_with_its_code(topic, code):
    with pytest.raises(PayloadError) as error:
        topic_parse(topic, tele_root="tele", batteries_root="batteries")
    assert error.value.code == code


def test_it_accepts_a_device_name_as_long_as_the_column():
    parsed = topic_parse(f"tele/{'d' * 128}/SENSOR", tele_root="tele", batteries_root="b")
    assert parsed == Topic("SENSOR", "d" * 128)


def test_it_accepts_a_topic_root_with_slashes():
    parsed = topic_parse("t123/tele/dev/SENSOR", tele_root="t123/tele", batteries_root="b")
    assert parsed == Topic("SENSOR", "dev")


# --- LWT ----------------------------------------------------------------------------------------


def test_it_reads_lwt_online_and_offline():
    assert lwt_parse(b"Online") is True
    assert lwt_parse(b"Offline") is False
    assert lwt_parse(b" offline\n") is False


def test_it_refuses_an_unknown_lwt_payload():
    with pytest.raises(PayloadError) as error:
        lwt_parse(b"Maybe")
    assert error.value.code == "bad_lwt"


# --- The payload variants seen in the field -------------------------------------------------------


def test_it_maps_the_mt681_payload():
    m = mapped(
        '{"Time":"2024-08-07T08:53:42","MT681":{"Total_in":186.7106,"Power_cur":79.9,'
        '"Total_out":266.8507}}'
    )
    assert m.import_kwh == Decimal("186.7106")
    assert m.export_kwh == Decimal("266.8507")
    assert m.power_w == pytest.approx(79.9)
    assert m.time == "2024-08-07T08:53:42"


def test_it_maps_the_sml_group_with_e_in_e_out_and_power_curr():
    m = mapped(
        '{"Time":"2024-08-07T08:53:42","SML":{"E_in":12345.678,"E_out":12.5,"Power_curr":-431}}'
    )
    assert m.import_kwh == Decimal("12345.678")
    assert m.export_kwh == Decimal("12.5")
    assert m.power_w == -431.0


def test_it_keeps_negative_power_while_exporting():
    m = mapped('{"Time":"2024-08-07T12:00:00","MT681":{"Total_in":10,"Power":-1520.5}}')
    assert m.power_w == -1520.5


def test_it_maps_phase_powers_in_both_spellings():
    m = mapped(
        '{"Time":"2024-08-07T08:53:42","SML":{"Total_in":1,"Power_p1":10,"Power_p2":20,'
        '"Power_p3":30}}'
    )
    assert (m.power_l1_w, m.power_l2_w, m.power_l3_w) == (10.0, 20.0, 30.0)
    m = mapped('{"Time":"2024-08-07T08:53:42","SML":{"Total_in":1,"L1":1.5,"L2":2.5,"L3":3.5}}')
    assert (m.power_l1_w, m.power_l2_w, m.power_l3_w) == (1.5, 2.5, 3.5)


def test_it_reads_the_meter_number_in_both_spellings():
    assert mapped('{"MT681":{"Total_in":1,"Meter_id":"1EBZ0100507409"}}').meter_number == (
        "1EBZ0100507409"
    )
    assert mapped('{"SML":{"E_in":1,"Meter_number":"0901454"}}').meter_number == "0901454"


def test_it_finds_the_meter_number_in_another_group():
    m = mapped('{"Info":{"Meter_id":"X1"},"SML":{"E_in":1}}')
    assert m.meter_number == "X1"


def test_it_ignores_other_sensor_groups():
    m = mapped(
        '{"Time":"2024-08-07T08:53:42","ESP32":{"Temperature":45.6},'
        '"Gas":{"Total":1234.5,"Power":9},"MT681":{"Total_in":186.7106,"Power_cur":79.9}}'
    )
    assert m.import_kwh == Decimal("186.7106")
    assert m.power_w == pytest.approx(79.9)


def test_it_takes_the_first_of_duplicate_keys():
    m = mapped(
        '{"Time":"2024-08-07T08:53:42","MT681":{"Total_in":186.7106,"Total_in":0,'
        '"Power_cur":79.9,"Power_cur":80.1}}'
    )
    assert m.import_kwh == Decimal("186.7106")
    assert m.power_w == pytest.approx(79.9)


def test_it_skips_a_non_number_before_a_duplicate_number():
    m = mapped('{"MT681":{"Total_in":"","Total_in":186.7}}')
    assert m.import_kwh == Decimal("186.7")


def test_it_ignores_empty_keys_and_empty_values():
    m = mapped(
        '{"Time":"2024-08-07T08:53:42","":{"Total_in":999},"MT681":{"":12,"Total_in":186.7106,'
        '"Power_cur":"","Total_out":null}}'
    )
    assert m.import_kwh == Decimal("186.7106")
    assert m.power_w is None
    assert m.export_kwh is None


def test_it_reads_quoted_numbers():
    m = mapped('{"SML":{"Total_in":"186.7106","Power_cur":" 79.9 "}}')
    assert m.import_kwh == Decimal("186.7106")
    assert m.power_w == pytest.approx(79.9)


def test_it_matches_keys_case_insensitively():
    assert mapped('{"SML":{"total_IN":5}}').import_kwh == Decimal(5)


def test_it_recognises_boot_zeros():
    boot = mapped(
        '{"Time":"1970-01-01T00:00:12","MT681":{"Total_in":0,"Power_cur":0,"Total_out":0}}'
    )
    assert boot.is_boot_zero
    assert not mapped('{"MT681":{"Total_in":0.001,"Total_out":0}}').is_boot_zero
    assert mapped('{"MT681":{"Total_in":0}}').is_boot_zero


def test_it_requires_an_import_register():
    with pytest.raises(PayloadError) as error:
        sensor_require_register(mapped('{"Time":"2024-08-07T08:53:42","ESP32":{"Temperature":4}}'))
    assert error.value.code == "no_register"


def test_it_refuses_a_negative_register():
    with pytest.raises(PayloadError) as error:
        sensor_require_register(mapped('{"MT681":{"Total_in":-1}}'))
    assert error.value.code == "negative_register"


@pytest.mark.parametrize(
    "payload",
    [b"", b"not json", b'{"MT681":', b"[1,2]", b'"text"', b"\xff\xfe"],
)
def test_it_refuses_invalid_and_non_json_payloads(payload):
    with pytest.raises(PayloadError) as error:
        json_parse(payload)
    assert error.value.code == "not_json"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b'{"MT681":{"Total_in":NaN}}', "not_finite"),
        (b'{"MT681":{"Total_in":Infinity}}', "not_finite"),
        (b'{"MT681":{"Total_in":' + b"9" * 1_000_000 + b"}}", "number_too_long"),
        (b"[" * 10_000 + b"]" * 10_000, "too_deep"),
        (b'{"MT681":{"Total_in":1,"Meter_id":"\\u0000"}}', "nul_character"),
    ],
)
def test_it_refuses_poison_json_by_the_shared_rules(payload, code):
    with pytest.raises(PayloadError) as error:
        json_parse(payload)
    assert error.value.code == code


@pytest.mark.parametrize(
    "register",
    ["1e400", "1.00000000000000000000000000001e25", "12345678901", '"1e400"', "1e999999"],
)
def test_it_refuses_a_register_the_column_cannot_hold(register):
    with pytest.raises(PayloadError) as error:
        sensor_require_register(mapped(f'{{"MT681":{{"Total_in":{register}}}}}'))
    assert error.value.code == "out_of_range"


def test_it_refuses_a_power_beyond_any_home():
    with pytest.raises(PayloadError) as error:
        sensor_require_register(mapped('{"MT681":{"Total_in":1,"Power_cur":1e400}}'))
    assert error.value.code == "out_of_range"


def test_it_refuses_a_scaled_override_that_overflows():
    overrides = {"SML.E": {"quantity": "import_kwh", "scale": 1000}}
    with pytest.raises(PayloadError) as error:
        mapped('{"SML":{"E":1e999999}}', overrides)
    assert error.value.code == "out_of_range"


def test_it_bounds_registers_by_the_readings_column():
    from meters.models import KWH_DIGITS, KWH_PLACES
    from meters.telemetry.payloads import REGISTER_DIGITS, REGISTER_PLACES

    assert (REGISTER_DIGITS, REGISTER_PLACES) == (KWH_DIGITS, KWH_PLACES)


def test_it_keeps_register_precision():
    assert mapped('{"SML":{"Total_in":123456789.123456789}}').import_kwh == Decimal(
        "123456789.123456789"
    )


# --- Overrides ----------------------------------------------------------------------------------


def test_it_applies_an_override_path_and_scale():
    m = mapped(
        '{"SML":{"Total_in":5,"Wh_total":186710.6,"P":12}}',
        {
            "SML.Wh_total": {"quantity": "import_kwh", "scale": 0.001},
            "SML.P": {"quantity": "power_w"},
        },
    )
    assert m.import_kwh == Decimal("186.7106")
    assert m.power_w == 12.0


def test_it_never_falls_back_to_the_default_for_an_overridden_quantity():
    m = mapped(
        '{"SML":{"Total_in":5}}', {"SML.Wh_total": {"quantity": "import_kwh", "scale": 0.001}}
    )
    assert m.import_kwh is None


def test_it_reads_a_register_from_another_group_by_override():
    m = mapped('{"Gas":{"Total":1.5},"X":{"a":{"b":7}}}', {"X.a.b": {"quantity": "import_kwh"}})
    assert m.import_kwh == Decimal(7)


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        {"": {"quantity": "import_kwh"}},
        {"SML..x": {"quantity": "import_kwh"}},
        {"SML.x": {"quantity": "volts"}},
        {"SML.x": "import_kwh"},
        {"SML.x": {"quantity": "import_kwh", "scale": 0}},
        {"SML.x": {"quantity": "import_kwh", "scale": "2"}},
        {"SML.x": {"quantity": "import_kwh", "offset": 2}},
    ],
)
def test_it_refuses_malformed_overrides(overrides):
    with pytest.raises(ValidationError):
        overrides_validate(overrides)


def test_it_accepts_wellformed_overrides():
    overrides_validate({"SML.x": {"quantity": "import_kwh", "scale": 0.001}})
    overrides_validate({})


# --- Time ---------------------------------------------------------------------------------------

RECEIVED = datetime(2024, 8, 7, 7, 53, 50, tzinfo=UTC)
WINDOW = {"max_ahead": timedelta(minutes=2), "max_behind": timedelta(hours=24)}


def test_it_reads_payload_time_in_the_device_zone():
    at, source = reading_time("2024-08-07T08:53:42", tz=LONDON, received_at=RECEIVED, **WINDOW)
    assert at == datetime(2024, 8, 7, 7, 53, 42, tzinfo=UTC)
    assert source == TIME_FROM_PAYLOAD


def test_it_honours_an_offset_in_payload_time():
    at, source = reading_time(
        "2024-08-07T07:53:42+00:00", tz=ZoneInfo("Asia/Tokyo"), received_at=RECEIVED, **WINDOW
    )
    assert at == datetime(2024, 8, 7, 7, 53, 42, tzinfo=UTC)
    assert source == TIME_FROM_PAYLOAD


@pytest.mark.parametrize(
    "time",
    [
        None,
        "",
        "garbage",
        "1970-01-01T00:00:12",  # no NTP yet after boot
        "2024-08-07T09:00:00",  # 6 minutes ahead of the receive time
        "2024-08-05T08:53:42",  # two days behind
    ],
)
def test_it_falls_back_to_the_receive_time_when_payload_time_is_implausible(time):
    at, source = reading_time(time, tz=LONDON, received_at=RECEIVED, **WINDOW)
    assert at == RECEIVED
    assert source == TIME_FROM_RECEIPT
