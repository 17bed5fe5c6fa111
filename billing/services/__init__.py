"""Every write to tariffs, assignments and bills, one module per concern:

- money.py        rounding and the VAT rule (used by every app that shows a price)
- periods.py      billing months
- tariffs.py      tariffs, their bands, assignments to accounts
- drafts.py       a bill in memory while it is composed; the chunk's tariffs by day
- composition.py  one account's bill composed from its usage, sessions and tariffs
- session_pricing.py  charging sessions' lines: the charging rate, or a dynamic tariff's half-hours
- writing.py      a chunk's bills, lines and reads written in bulk
- runs.py         bill runs in chunks of accounts (bill_generate_for_month, bills_generate)
- fanout.py       a month's run fanned out over Celery workers, a task per chunk
- states.py       issuing and voiding
- corrections.py  regenerating a draft, correcting an issued bill
- unit_rates.py   the price feed: a dynamic tariff's half-hourly rates, a local day at a time
- ledger.py       the account ledger: bills entering it when issued, payments, refunds, credits
- payments.py     bank statement imports (matched, unmatched, re-imported rows)
- direct_debits.py  direct-debit collection runs and their payments
- announcements.py  bill issued / payment received as notifications' events

This package's exports are billing's public services; other apps import only these.
"""

# Re-exported so that callers can catch billing's refusals as services.ApplicationError.
from config.exceptions import ApplicationError

from .corrections import bill_correct, bill_regenerate_draft
from .direct_debits import direct_debit_run_collected, direct_debit_run_create
from .drafts import LineDraft
from .fanout import bill_run_chunk_do, bill_run_start, bill_runs_resume
from .ledger import EntryIn, entry_input_check, ledger_entry_record, payment_record
from .money import money, price_inc_vat, vat_on
from .payments import MAX_STATEMENT_BYTES, bank_line_match, bank_statement_import
from .periods import month_of, next_month, previous_month
from .runs import (
    CREATED,
    REGENERATED,
    UNCHANGED,
    RunSummary,
    bill_generate_for_month,
    bills_generate,
)
from .states import bill_issue, bill_void
from .tariffs import (
    RateIn,
    tariff_assign,
    tariff_assignment_dates_check,
    tariff_assignment_overlap_check,
    tariff_create,
    tariff_rates_check,
    tariff_update,
)
from .unit_rates import (
    DayResult,
    unit_rate_value_check,
    unit_rates_by_day,
    unit_rates_day_check,
    unit_rates_set_day,
    unit_rates_set_days,
)

__all__ = [
    "CREATED",
    "MAX_STATEMENT_BYTES",
    "REGENERATED",
    "UNCHANGED",
    "ApplicationError",
    "DayResult",
    "EntryIn",
    "LineDraft",
    "RateIn",
    "RunSummary",
    "bank_line_match",
    "bank_statement_import",
    "bill_correct",
    "bill_generate_for_month",
    "bill_issue",
    "bill_regenerate_draft",
    "bill_run_chunk_do",
    "bill_run_start",
    "bill_runs_resume",
    "bill_void",
    "bills_generate",
    "direct_debit_run_collected",
    "direct_debit_run_create",
    "entry_input_check",
    "ledger_entry_record",
    "money",
    "month_of",
    "next_month",
    "payment_record",
    "previous_month",
    "price_inc_vat",
    "tariff_assign",
    "tariff_assignment_dates_check",
    "tariff_assignment_overlap_check",
    "tariff_create",
    "tariff_rates_check",
    "tariff_update",
    "unit_rate_value_check",
    "unit_rates_by_day",
    "unit_rates_day_check",
    "unit_rates_set_day",
    "unit_rates_set_days",
    "vat_on",
]
