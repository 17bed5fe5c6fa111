"""The bulk door's body parse (#16 §3): msgspec decodes a well-formed body straight into one small
struct per reading, in C, instead of json.loads building a dict per item and a ReadingIn from
each. It only ever vouches for a body on which the general parse (config.inputs.json_loads, then
the per-item light parse in views/readings.py) would give the very same readings; any other body
(broken JSON, a value of another type, a rule of json_loads that it cannot see) returns None and
takes the general path, whose answers and error messages are the ones clients know."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from django.conf import settings
from rest_framework.renderers import JSONRenderer

from config.inputs import DEFAULT_MAX_JSON_DEPTH, MAX_NUMBER_LENGTH

Number = str | int | float


class BulkItem(msgspec.Struct, frozen=True, gc=False):
    """One reading as the bulk door received it: the fields (and defaults) of
    meters.services.ReadingIn, which ingest reads by name. Numbers and ``at`` are checked by
    ingest, as for every door; the types here only decide whether this parse may answer."""

    meter_id: str
    at: str
    import_kwh: Number
    export_kwh: Number | None = None
    power_w: int | float | None = None
    power_l1_w: int | float | None = None
    power_l2_w: int | float | None = None
    power_l3_w: int | float | None = None
    quality: str = "actual"
    register_reset: bool = False
    export_register_reset: bool | None = None
    raw: dict[str, Any] | None = None


class _Body(msgspec.Struct, gc=False):
    readings: list[BulkItem]


_DECODER = msgspec.json.Decoder(_Body)
# json_loads refuses number literals longer than MAX_NUMBER_LENGTH; msgspec takes them. A JSON
# number has at most four characters that are not digits (-, ., e, and the exponent's sign) and
# at most three runs of digits, so a longer literal holds a run of at least this many digits.
# Any such run in the body (in a string too) sends it the general way, which decides. Found with
# translate() and a substring search: a regular expression took four times the msgspec decode.
_DIGIT_RUN = (MAX_NUMBER_LENGTH + 1 - 4 + 2) // 3
_DIGITS_AS_ZEROS = bytes(b"0"[0] if 48 <= byte <= 57 else b" "[0] for byte in range(256))
# The body's own nesting (object, readings list, item) before an item's ``raw`` begins.
_ITEM_DEPTH = 3


def bulk_items_fast(body: bytes) -> list[BulkItem] | None:
    """The readings of ``body`` when the general parse would read the same ones; else None."""
    # A NUL escape (json_loads refuses NUL text) and over-long numbers: the general path.
    if b"\\u0000" in body or b"0" * _DIGIT_RUN in body.translate(_DIGITS_AS_ZEROS):
        return None
    try:
        readings = _DECODER.decode(body).readings
    except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        return None
    limit = getattr(settings, "INPUT_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)
    for item in readings:
        if item.raw is not None and _ITEM_DEPTH + _depth(item.raw, limit) > limit:
            return None
    return readings


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value (an object or list counts one), counted no
    further than ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return depth
        children = node.values() if isinstance(node, dict) else node
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class BulkJSONRenderer(JSONRenderer):
    """DRF's JSON answer, encoded by msgspec: a 10,000-item answer in a millisecond rather than
    ten. Anything msgspec does not know (an error's ErrorDetail, an indented answer) is DRF's."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        indent = self.get_indent(accepted_media_type or "", renderer_context or {})
        if data is not None and not indent:
            try:
                answer = msgspec.json.encode(data)
            except TypeError:
                pass
            else:
                # As DRF's: U+2028 and U+2029 escaped, so the answer is a strict JavaScript subset.
                return answer.replace(_LINE_SEPARATOR, b"\\u2028").replace(
                    _PARAGRAPH_SEPARATOR, b"\\u2029"
                )
        return super().render(data, accepted_media_type, renderer_context)


_paused = {"requests": 0, "was_enabled": False}
_pause_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a bulk request runs. Such a request
    builds some 100,000 objects that live until it answers (structs, candidates, results), and
    those trip full collections that walk the whole process heap: measured at three of 200+ ms
    in seven requests, more than the validation of the readings. The request's objects form no
    cycles (reference counting frees them all when it ends); the collector resumes when the last
    bulk request in the process is done, and collects whatever other threads left meanwhile."""
    with _pause_lock:
        if _paused["requests"] == 0:
            _paused["was_enabled"] = gc.isenabled()
            gc.disable()
        _paused["requests"] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _paused["requests"] -= 1
            if _paused["requests"] == 0 and _paused["was_enabled"]:
                gc.enable()
