"""Every write to meters, readings, roll-ups, reception and archives.

Ingest has one implementation, ``reading_ingest_bulk``; ``reading_record`` is the same rules for
one reading. The REST API, the MQTT ingest process, the restore and import commands all call
these, so a rule holds whichever door the data came in by.

One module per concern: ``reception``, ``meters`` (meters and their keys), ``validation`` (a
reading item and its rules), ``storage`` (ingest's SQL), ``rollups`` (DailyUsage), ``pushes``
(live updates), ``diagnostics`` and ``ingest``. Callers import from here:
``from meters.services import ...``.
"""

from .corrections import (
    ReadingChange,
    reading_amend,
    reading_change_listener_register,
    reading_estimate_replace,
    reading_gaps_estimate,
    reading_ingest_bulk_replacing_estimates,
    reading_record_or_replace_estimate,
    reading_void,
)
from .customer_reads import SubmittedRead, customer_read_review, customer_read_submit
from .diagnostics import reading_diagnostics_prune
from .ingest import reading_ingest_bulk, reading_record
from .meters import IssuedMeterKey, meter_create, meter_key_create, meter_key_revoke
from .pushes import LIVE_PUSH_WINDOW
from .reception import reception_ensure_open, reception_set
from .rollups import daily_usage_refresh
from .validation import (
    ACCEPTED,
    BULK_MAX_ITEMS,
    DUPLICATE,
    MAX_WATTS,
    REJECTED,
    SKIPPED,
    ItemResult,
    ReadingIn,
    result_as_dict,
)

__all__ = [
    "ACCEPTED",
    "BULK_MAX_ITEMS",
    "DUPLICATE",
    "LIVE_PUSH_WINDOW",
    "MAX_WATTS",
    "REJECTED",
    "SKIPPED",
    "IssuedMeterKey",
    "ItemResult",
    "ReadingChange",
    "ReadingIn",
    "SubmittedRead",
    "customer_read_review",
    "customer_read_submit",
    "daily_usage_refresh",
    "meter_create",
    "meter_key_create",
    "meter_key_revoke",
    "reading_amend",
    "reading_change_listener_register",
    "reading_diagnostics_prune",
    "reading_estimate_replace",
    "reading_gaps_estimate",
    "reading_ingest_bulk",
    "reading_ingest_bulk_replacing_estimates",
    "reading_record",
    "reading_record_or_replace_estimate",
    "reading_void",
    "reception_ensure_open",
    "reception_set",
    "result_as_dict",
]
