"""The bulk door's msgspec parse (meters/api/bulk.py) vouches only for bodies on which the general
parse (config.inputs.json_loads and the light per-item parse) reads the very same readings; and
the UTC fast check of a timestamp answers as config.inputs.datetime_plausible does."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.renderers import JSONRenderer

from config.api_fields import parse_json_body
from config.inputs import earliest_datetime
from meters.api.bulk import BulkJSONRenderer, bulk_items_fast
from meters.api.views.readings import _bulk_items
from meters.services import ReadingIn, reading_ingest_bulk
from meters.services.validation import _timestamp
from meters.tests.factories import MeterFactory

BUDGET = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
FIELDS = (
    "meter_id",
    "at",
    "import_kwh",
    "export_kwh",
    "power_w",
    "power_l1_w",
    "power_l2_w",
    "power_l3_w",
    "quality",
    "register_reset",
    "export_register_reset",
    "raw",
)
_TEXT = st.sampled_from(
    ["", "\x00", "m-1", "2026-01-10T00:00:00Z", "2026-01-10T00:00:00", "12.5", "1" * 70, "actual"]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**70), max_value=10**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | _TEXT
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=4) | st.sampled_from(FIELDS), children, max_size=3)
    ),
    max_leaves=40,
)
_NUMBER = (
    st.integers(min_value=-(10**70), max_value=10**70)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["12.5", " 3 ", "-1", "1e3", "x", 10**64, -(10**65), 0.1 + 10**-20])
)
_WATTS = st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | _JSON
# Items mostly of the shape the fast parse takes (so it answers often), with junk mixed in.
_ITEMS = st.fixed_dictionaries(
    {
        "meter_id": _TEXT | st.text(max_size=6),
        "at": _TEXT | st.text(max_size=6),
        "import_kwh": _NUMBER | _JSON,
    },
    optional={
        "export_kwh": st.none() | _NUMBER | _JSON,
        "power_w": _WATTS,
        "power_l1_w": _WATTS,
        "power_l2_w": _WATTS,
        "power_l3_w": _WATTS,
        "quality": st.sampled_from(["actual", "estimated", "x"]) | _JSON,
        "register_reset": st.booleans() | _JSON,
        "export_register_reset": st.none() | st.booleans() | _JSON,
        "raw": st.none() | st.dictionaries(st.text(max_size=4), _JSON, max_size=3) | _JSON,
        "junk": _JSON,
    },
)
_GOOD_WATTS = st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers()
_CLEAN_TEXT = st.text(st.characters(blacklist_characters="\x00"), max_size=6) | st.sampled_from(
    ["m-1", "2026-01-10T00:00:00Z", "2026-01-10T00:00:00", "12.5", "actual"]
)
_CLEAN_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _CLEAN_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_CLEAN_TEXT, children, max_size=3)
    ),
    max_leaves=10,
)
# Items of the types the fast parse takes, so that it answers and the values are compared.
_TYPED_ITEMS = st.fixed_dictionaries(
    {"meter_id": _CLEAN_TEXT, "at": _CLEAN_TEXT, "import_kwh": _NUMBER},
    optional={
        "export_kwh": st.none() | _NUMBER,
        "power_w": _GOOD_WATTS,
        "power_l2_w": _GOOD_WATTS,
        "quality": st.sampled_from(["actual", "estimated", "x"]),
        "register_reset": st.booleans(),
        "export_register_reset": st.none() | st.booleans(),
        "raw": st.none() | st.dictionaries(_CLEAN_TEXT, _CLEAN_JSON, max_size=3),
        "junk": _CLEAN_JSON,
    },
)


def _general(body: bytes):
    return _bulk_items(parse_json_body(body or b"{}"))


def _fields(item) -> tuple:
    return tuple((name, getattr(item, name), type(getattr(item, name))) for name in FIELDS)


def _compare(body) -> bool:
    """Whether the fast parse answered for ``body``; where it did, the general parse must read
    the same readings (same values, same types)."""
    text = json.dumps(body, allow_nan=True).encode()
    fast = bulk_items_fast(text)
    if fast is None:
        return False
    general = _general(text)
    assert [_fields(item) for item in fast] == [_fields(item) for item in general]
    return True


_ANSWERED: list[bool] = []


@given(body=st.fixed_dictionaries({"readings": st.lists(_TYPED_ITEMS, min_size=1, max_size=4)}))
@BUDGET
def test_the_fast_parse_reads_a_typed_body_as_the_general_parse_does(body):
    _ANSWERED.append(_compare(body))


def test_the_fast_parse_answered_for_most_of_those_bodies():
    """The test above says something only where the fast parse answers."""
    assert len(_ANSWERED) >= 100 and sum(_ANSWERED) >= len(_ANSWERED) / 2


@given(
    body=_JSON
    | st.fixed_dictionaries({"readings": st.lists(_ITEMS | _TYPED_ITEMS | _JSON, max_size=4)})
)
@BUDGET
def test_the_fast_parse_reads_any_body_as_the_general_parse_does_or_leaves_it_alone(body):
    _compare(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"readings": [{"meter_id": "m", "at": "x", "import_kwh": 1.' + b"0" * 70 + b"1}]}",
        b'{"readings": [{"meter_id": "m", "at": "x", "import_kwh": 1' + b"0" * 70 + b"}]}",
        b'{"readings": [{"meter_id": "m\\u0000", "at": "x", "import_kwh": 1}]}',
        b'{"readings": [{"meter_id": "m", "at": "x", "import_kwh": 1, "raw": '
        + b'{"a": ' * 30  # 33 levels with the body's own three
        + b"1"
        + b"}" * 30
        + b"}]}",
        b'{"readings": [{"meter_id": "m", "at": "x", "import_kwh": NaN}]}',
        b'{"readings": [{"meter_id": "m", "at": "x", "import_kwh": 1e400}]}',
        b'{"readings": [{"meter_id": "m", "at": "x", "import_kwh": 1}]} x',
        b'\xef\xbb\xbf{"readings": []}',
        b'{"readings": [{"meter_id": "\xff", "at": "x", "import_kwh": 1}]}',
        b"",
    ],
)
def test_bodies_the_general_parse_refuses_are_left_to_it(body):
    assert bulk_items_fast(body) is None
    with pytest.raises(APIException):
        _general(body)


def test_a_body_that_differs_only_by_type_is_left_to_the_general_parse():
    # meter_id a number: the light parse reads it as text ("7"); msgspec does not vouch.
    body = b'{"readings": [{"meter_id": 7, "at": "2026-01-10T00:00:00Z", "import_kwh": 1}]}'
    assert bulk_items_fast(body) is None
    assert _general(body)[0].meter_id == "7"


@pytest.mark.django_db
def test_the_utc_fast_check_of_a_timestamp_answers_as_the_full_rule():
    meter = MeterFactory()
    now = timezone.now()
    latest = now + timedelta(seconds=300)
    edges = [earliest_datetime(), latest, now]

    @given(
        at=st.sampled_from(edges)
        | st.datetimes(
            min_value=datetime(1999, 12, 31), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        nudge=st.sampled_from(
            [timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1)]
        ),
        as_text=st.booleans(),
    )
    @BUDGET
    def check(at, nudge, as_text):
        value = at + nudge
        given_value = value.isoformat() if as_text else value
        try:
            fast = _timestamp(given_value, meter, now, bounds=(earliest_datetime(), latest))
        except ValueError as exc:
            fast = str(exc)
        # The full rule: the same value offset to +01:00 takes datetime_plausible's path.
        shifted = value.astimezone(timezone.get_fixed_timezone(60))
        try:
            full = _timestamp(shifted.isoformat() if as_text else shifted, meter, now)
        except ValueError as exc:
            full = str(exc)
        assert fast == full

    check()


@pytest.mark.django_db
def test_a_timestamp_text_is_judged_per_kind_and_zone_of_meter_within_one_batch():
    """The batch's cache of checked timestamp texts keys on the meter's zone and kind: the
    same text can be right for one meter and wrong for the next."""
    live, interval = MeterFactory(kind="live"), MeterFactory()
    kolkata = MeterFactory(timezone="Asia/Kolkata")  # +05:30: :00 UTC is :30 local
    kathmandu = MeterFactory(timezone="Asia/Kathmandu")  # +05:45: :00 UTC is :45 local
    text = "2026-01-10T00:10:00Z"
    items = [
        ReadingIn(meter_id=live.meter_id, at=text, import_kwh=1),
        ReadingIn(meter_id=interval.meter_id, at=text, import_kwh=1),
        ReadingIn(meter_id=live.meter_id, at="2026-01-10T00:00:00Z", import_kwh="0.5"),
        ReadingIn(meter_id=kolkata.meter_id, at="2026-01-10T00:00:00Z", import_kwh=1),
        ReadingIn(meter_id=kathmandu.meter_id, at="2026-01-10T00:00:00Z", import_kwh=1),
        ReadingIn(meter_id=interval.meter_id, at="2026-01-10T00:00:00Z", import_kwh=1),
    ]
    results = reading_ingest_bulk(items=items, source="api")
    assert [(r.status, r.field) for r in results] == [
        ("accepted", ""),
        ("rejected", "at"),
        ("accepted", ""),
        ("accepted", ""),
        ("rejected", "at"),
        ("accepted", ""),
    ]


def test_the_bulk_answer_is_byte_for_byte_drfs_json():
    answer = {
        "accepted": 1,
        "duplicate": 0,
        "rejected": 1,
        "results": [
            {
                "index": 0,
                "meter_id": "m-é",
                "at": "2026-01-10T00:00:00+00:00",
                "status": "accepted",
            },
            {
                "index": 1,
                "meter_id": "m",
                "at": None,
                "status": "rejected",
                "code": "invalid",
                "field": "at",
                "reason": "at: 'x\u2028y\u2029\"\\\\\x01' is not an ISO 8601 timestamp.",
            },
        ],
    }
    errors = {"detail": ErrorDetail("Not JSON.", code="parse_error")}
    for data in (answer, errors, None):
        assert BulkJSONRenderer().render(data) == JSONRenderer().render(data)
