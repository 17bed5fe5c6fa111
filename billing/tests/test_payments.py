"""Payments from bank statements, staff matching the rows nobody was found for, and direct-debit
collection runs."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.tests.factories import CustomerAccountFactory
from billing import selectors, services
from billing.models import (
    BankStatementLine,
    DirectDebitMandate,
    EntryKind,
    LedgerEntry,
    LineStatus,
)
from config.exceptions import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def statement(*rows: str, header: str = "Date,Amount,Reference,Description") -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture
def accounts():
    return CustomerAccountFactory(account_number="HG00001234"), CustomerAccountFactory(
        account_number="HG00005678"
    )


def test_it_imports_a_statement_twice_and_adds_nothing_the_second_time(accounts, staff):
    first, second = accounts
    text = statement(
        "2026-11-02,42.10,HG00001234,BACS",
        '03/11/2026,"£1,250.00",hg 0000 5678 november,FPS',
        "2026-11-04,12.00,FLAT 3 RENT,FPS",  # no account number: kept for staff
        "2026-11-04,-9.99,HG00001234,Card refund out",  # money out: kept, not a payment
        "2026-11-05,nonsense,HG00001234,FPS",  # unreadable: kept with the reason
        "2026-11-06,42.10,HG00001234,BACS",  # same as the first but another day: a payment
    )

    imported = services.bank_statement_import(content=text.encode(), filename="nov.csv", by=staff)
    again = services.bank_statement_import(content=text.encode(), filename="nov.csv", by=staff)

    assert (imported.rows, imported.matched, imported.unmatched, imported.invalid) == (6, 3, 2, 1)
    assert (again.rows, again.duplicates, again.matched) == (6, 6, 0)
    assert selectors.account_balance(account=first) == Decimal("-84.20")
    assert selectors.account_balance(account=second) == Decimal("-1250.00")
    assert LedgerEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 3
    kept = {line.reference: line for line in selectors.bank_lines_to_match()}
    assert kept["FLAT 3 RENT"].note == "No account number in the reference."
    assert BankStatementLine.objects.count() == 6  # every row kept, none twice


def test_it_tells_identical_rows_of_one_statement_apart(accounts):
    first, _ = accounts
    row = "2026-11-02,10.00,HG00001234,FPS"
    services.bank_statement_import(content=statement(row, row), filename="a.csv")
    # A later statement overlapping the first: the two rows are known, the third is new.
    later = services.bank_statement_import(content=statement(row, row, row), filename="b.csv")
    assert (later.duplicates, later.matched) == (2, 1)
    assert selectors.account_balance(account=first) == Decimal("-30.00")


def test_it_identifies_rows_by_the_banks_transaction_id_where_there_is_one(accounts):
    first, _ = accounts
    header = "Transaction ID,Date,Amount,Reference"
    services.bank_statement_import(
        content=statement("T1,2026-11-02,10.00,HG00001234", header=header), filename="a.csv"
    )
    again = services.bank_statement_import(
        content=statement("T1,2026-11-02,10.00,HG00001234 ", header=header), filename="b.csv"
    )
    assert again.duplicates == 1
    assert selectors.account_balance(account=first) == Decimal("-10.00")


def test_it_keeps_an_unmatched_payment_until_staff_match_it(accounts, staff):
    first, _ = accounts
    services.bank_statement_import(
        content=statement("2026-11-04,12.00,HG99999999,FPS"), filename="nov.csv"
    )
    line = selectors.bank_lines_to_match().get()
    assert (line.status, line.note) == (LineStatus.UNMATCHED, "No account HG99999999.")

    services.bank_line_match(line=line, account=first, by=staff)

    line.refresh_from_db()
    assert line.status == LineStatus.MATCHED and line.entry.amount == Decimal("-12.00")
    assert not selectors.bank_lines_to_match().exists()
    with pytest.raises(Conflict):
        services.bank_line_match(line=line, account=first, by=staff)
    assert selectors.account_balance(account=first) == Decimal("-12.00")


def test_it_refuses_a_file_without_the_columns_it_needs_and_stores_nothing():
    with pytest.raises(InvalidInput) as refused:
        services.bank_statement_import(content=b"When,How much\n2026-11-01,3\n", filename="x")
    assert "file" in refused.value.errors and "no date column" in refused.value.message
    with pytest.raises(InvalidInput):
        services.bank_statement_import(content=b"\xff\xfe\x00", filename="x")
    assert not BankStatementLine.objects.exists()


@settings(max_examples=25, deadline=None)
@given(cells=st.lists(st.text(max_size=30), min_size=3, max_size=5))
def test_it_keeps_any_row_it_cannot_read_and_never_fails(cells):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    result = services.bank_statement_import(
        content=statement(buffer.getvalue().strip("\r\n")), filename="fuzz.csv"
    )
    assert result.rows == result.matched + result.unmatched + result.invalid + result.duplicates


def test_it_collects_what_mandated_accounts_owe_once(accounts, staff):
    first, second = accounts
    today = timezone.localdate()
    DirectDebitMandate.objects.create(account=first, reference="DD-0001")
    DirectDebitMandate.objects.create(account=second, reference="DD-0002")
    services.ledger_entry_record(
        account=first,
        entry=services.EntryIn(
            kind=EntryKind.REFUND, amount="60", posted_on=today, reference="Test debit"
        ),
    )  # first owes 60; second owes nothing and is left out
    run, created = services.direct_debit_run_create(collection_date=today, by=staff)
    same, created_again = services.direct_debit_run_create(collection_date=today, by=staff)

    assert (created, created_again, same.pk) == (True, False, run.pk)
    assert selectors.direct_debit_rows(run=run) == [
        ["HG00001234", "DD-0001", "60.00", "GBP", today.isoformat()]
    ]
    assert services.direct_debit_run_collected(run=run, by=staff) == 1
    assert services.direct_debit_run_collected(run=run, by=staff) == 0
    assert selectors.account_balance(account=first) == 0
    with pytest.raises(InvalidInput):
        services.direct_debit_run_create(collection_date=today - timedelta(days=1))


def test_it_leaves_a_matched_row_dated_in_the_future_for_staff(accounts):
    future = (timezone.localdate() + timedelta(days=10)).isoformat()
    result = services.bank_statement_import(
        content=statement(f"{future},5.00,HG00001234,FPS"), filename="x.csv"
    )
    assert (result.matched, result.unmatched) == (0, 1)
    line = BankStatementLine.objects.get()
    assert "posted_on" in line.note and line.account is None
    assert date.fromisoformat(future) == line.paid_on
