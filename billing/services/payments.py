"""Payments from a bank statement CSV: each row matched to an account by the account number in
its reference, or kept for staff to match. Nothing is dropped, and importing the same rows
again (the same file, or an overlapping statement) adds nothing.

The file needs a header naming at least a date, an amount and a reference column (any case;
``date``/``transaction date``/``paid on``, ``amount``/``paid in``/``credit``,
``reference``/``ref``/``payment reference``); ``description``/``details``/``narrative`` and
``transaction id``/``id``/``fitid`` are used when present. Dates are ``YYYY-MM-DD`` or
``DD/MM/YYYY``; amounts may have a ``£`` and thousands commas. A row's identity is the bank's
transaction id where the file has one, else its date, amount, reference and description (and,
for rows identical in all of those, which of them it is in the file).
"""

import csv
import hashlib
import io
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from accounts.models import CustomerAccount, User
from config.exceptions import ApplicationError, Conflict, InvalidInput
from config.inputs import InputError, text_check, to_decimal

from ..models import (
    MONEY_DIGITS,
    MONEY_PLACES,
    BankStatementImport,
    BankStatementLine,
    LineStatus,
    PaymentMethod,
)
from .ledger import payment_record

MAX_STATEMENT_BYTES = 20 * 1024 * 1024
_COLUMNS = {
    "date": ("date", "transaction date", "paid on", "value date"),
    "amount": ("amount", "paid in", "credit", "credit amount"),
    "reference": ("reference", "ref", "payment reference"),
    "description": ("description", "details", "narrative"),
    "transaction_id": ("transaction id", "id", "fitid", "bank reference"),
}
_ACCOUNT_NUMBER = re.compile(r"HG\d{8}")


def _header(fields: list[str]) -> dict[str, int]:
    names = [re.sub(r"[\s_]+", " ", (name or "").strip().lower()) for name in fields]
    found = {}
    for column, aliases in _COLUMNS.items():
        for index, name in enumerate(names):
            if name in aliases:
                found[column] = index
                break
    missing = [column for column in ("date", "amount", "reference") if column not in found]
    if missing:
        raise InvalidInput(
            {"file": [f"The header names no {missing[0]} column (found: {', '.join(names)})."]}
        )
    return found


def _date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise InputError("bad_date", f"{text[:20]!r} is not a date (YYYY-MM-DD or DD/MM/YYYY).")


def _amount(text: str) -> Decimal:
    cleaned = text.strip().replace("£", "").replace(",", "")
    return to_decimal(cleaned, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)


def _digest(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()


def _cell(row: list[str], index: int | None) -> str:
    """The cell, with any NUL made visible: the row is kept (unreadable) whatever it holds."""
    if index is None or index >= len(row):
        return ""
    return row[index].strip().replace("\x00", "\ufffd")


def _account_for(text: str) -> tuple[CustomerAccount | None, str]:
    numbers = set(_ACCOUNT_NUMBER.findall(re.sub(r"[\s-]+", "", text.upper())))
    accounts = list(CustomerAccount.objects.filter(account_number__in=numbers)[:2])
    if len(accounts) == 1:
        return accounts[0], ""
    if len(accounts) > 1:
        return None, "The reference names several accounts."
    if numbers:
        return None, f"No account {sorted(numbers)[0]}."
    return None, "No account number in the reference."


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content
    if len(content) > MAX_STATEMENT_BYTES:
        raise InvalidInput({"file": [f"At most {MAX_STATEMENT_BYTES // 1024 // 1024} MiB."]})
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput({"file": ["The file is not UTF-8 text."]}) from exc


def _line(row: list[str], columns: dict, occurrences: Counter) -> BankStatementLine:
    """One row as a line (not saved): read, identified and matched, or kept with the reason."""
    raw = ",".join(row)
    line = BankStatementLine(
        raw=raw.replace("\x00", "\ufffd")[:2000],
        reference=_cell(row, columns["reference"])[:200],
        description=_cell(row, columns.get("description"))[:200],
    )
    try:
        text_check(raw)
        line.paid_on = _date(_cell(row, columns["date"]))
        line.amount = _amount(_cell(row, columns["amount"]))
    except InputError as exc:
        occurrences[("raw", raw)] += 1
        line.idempotency_key = _digest("raw", raw, occurrences[("raw", raw)])
        line.status, line.note = LineStatus.INVALID, exc.message
        return line
    txn = _cell(row, columns.get("transaction_id"))
    if txn:
        line.idempotency_key = _digest("txn", txn)
    else:
        identity = (line.paid_on, line.amount, line.reference, line.description)
        occurrences[identity] += 1
        line.idempotency_key = _digest(*identity, occurrences[identity])
    if line.amount <= 0:
        line.status, line.note = LineStatus.UNMATCHED, "Money out, not a payment in."
        return line
    line.account, line.note = _account_for(f"{line.reference} {line.description}")
    line.status = LineStatus.MATCHED if line.account else LineStatus.UNMATCHED
    return line


def _pay(line: BankStatementLine, by: User | None) -> None:
    """The payment of a matched line; a payment the ledger's rule refuses (a date in the
    future) leaves the line unmatched with the reason."""
    try:
        with transaction.atomic():
            entry, _ = payment_record(
                account=line.account,
                amount=line.amount,
                paid_on=line.paid_on,
                reference=line.reference or "Bank transfer",
                method=PaymentMethod.BANK_TRANSFER,
                by=by,
                idempotency_key=f"bank:{line.idempotency_key}",
            )
    except (InvalidInput, Conflict) as exc:
        line.status, line.note, line.account = LineStatus.UNMATCHED, exc.message[:300], None
        return
    line.entry = entry


@transaction.atomic
def bank_statement_import(
    *, content: bytes | str, filename: str, by: User | None = None
) -> BankStatementImport:
    """Import a bank statement: payments for matched rows, every other row kept for staff."""
    text = _decode(content)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InvalidInput({"file": ["The file is empty."]})
    columns = _header(rows[0])
    statement = BankStatementImport.objects.create(
        filename=(filename or "statement.csv").replace("\x00", "")[:200],
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        imported_by=by,
    )
    occurrences: Counter = Counter()
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        line = _line(row, columns, occurrences)
        line.statement, line.row_number = statement, number
        lines.append(line)
    known = set(
        BankStatementLine.objects.filter(
            idempotency_key__in=[line.idempotency_key for line in lines]
        ).values_list("idempotency_key", flat=True)
    )
    fresh = [line for line in lines if line.idempotency_key not in known]
    for line in fresh:
        if line.status == LineStatus.MATCHED:
            _pay(line, by)
    BankStatementLine.objects.bulk_create(fresh, batch_size=2000)
    statement.rows = len(lines)
    statement.duplicates = len(lines) - len(fresh)
    counts = Counter(line.status for line in fresh)
    statement.matched = counts[LineStatus.MATCHED]
    statement.unmatched = counts[LineStatus.UNMATCHED]
    statement.invalid = counts[LineStatus.INVALID]
    statement.save()
    return statement


@transaction.atomic
def bank_line_match(
    *, line: BankStatementLine, account: CustomerAccount, by: User | None = None
) -> BankStatementLine:
    """Staff: a row no account was found for is this account's payment."""
    line = BankStatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status == LineStatus.MATCHED:
        raise Conflict(f"Row {line.row_number} is already matched to an account.")
    if line.status == LineStatus.INVALID or line.amount is None or line.amount <= 0:
        raise ApplicationError(
            "line: only a readable payment in can be matched to an account.", field="line"
        )
    line.account = account
    _pay(line, by)
    if line.entry_id is None:
        raise InvalidInput({"line": [line.note]})
    line.status, line.note = LineStatus.MATCHED, f"Matched by {by or 'staff'}."
    line.save(update_fields=["account", "entry", "status", "note"])
    return line
