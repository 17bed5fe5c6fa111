"""Every write of the batteries app. Split by concern; import from here."""

from ..conditions import rule_holds, rule_winning
from .delivery import instruction_answer, instructions_deliver, instructions_delivery_register
from .instructions import (
    instruction_issue_manual,
    instruction_parameters_clean,
    instructions_expire,
    rules_evaluate,
)
from .monitoring import MonitoringResult, alert_acknowledge, monitoring_run
from .planned import instruction_issue_planned
from .registry import (
    BATTERY_CHANGES,
    DELETE_ALL_CONFIRMATION,
    Archive,
    batteries_archive,
    batteries_delete_all,
    battery_create,
    battery_delete,
    battery_update,
    identifier_format,
)
from .rules import RULE_FIELDS, rule_clean, rule_create, rule_delete, rule_save, rule_update
from .telemetry import (
    IngestResult,
    ReadingValues,
    reading_record,
    reading_values_parse,
    readings_ingest,
    readings_ingest_bulk,
)

__all__ = [
    "BATTERY_CHANGES",
    "DELETE_ALL_CONFIRMATION",
    "RULE_FIELDS",
    "Archive",
    "IngestResult",
    "MonitoringResult",
    "ReadingValues",
    "alert_acknowledge",
    "batteries_archive",
    "batteries_delete_all",
    "battery_create",
    "battery_delete",
    "battery_update",
    "identifier_format",
    "instruction_answer",
    "instruction_issue_manual",
    "instruction_issue_planned",
    "instruction_parameters_clean",
    "instructions_deliver",
    "instructions_delivery_register",
    "instructions_expire",
    "monitoring_run",
    "reading_record",
    "reading_values_parse",
    "readings_ingest",
    "readings_ingest_bulk",
    "rule_clean",
    "rule_create",
    "rule_delete",
    "rule_holds",
    "rule_save",
    "rule_update",
    "rule_winning",
    "rules_evaluate",
]
