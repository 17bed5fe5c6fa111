"""A bill's ``total = subtotal + vat`` constraint holds on SQLite (``make run``'s database), where a
decimal with a fraction is stored as a binary float and 130.26 + 6.51 does not make 136.77."""

from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.db.utils import ConnectionHandler

from billing.models import Bill

PENNY_SUMS = [
    ("130.26", "6.51", "136.77"),
    ("57.43", "2.87", "60.30"),
    ("-12.10", "0.97", "-11.13"),
    ("9999999.99", "0.01", "10000000.00"),
]


@pytest.fixture
def sqlite_bills(django_db_blocker):
    """An in-memory SQLite database (no PostgreSQL involved, so outside pytest-django's test
    database) holding the bill table with the model's constraints."""
    django_db_blocker.unblock()
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    connection = ConnectionHandler({"default": sqlite})["default"]
    with connection.schema_editor() as editor:
        editor.create_model(Bill)
    cursor = connection.cursor()
    # The bill's accounts and users are not part of this table's rule.
    cursor.execute("PRAGMA foreign_keys = OFF")

    def insert(subtotal: str, vat: str, total: str, number: str) -> None:
        values = [
            connection.ops.adapt_decimalfield_value(Decimal(value), 12, 2)
            for value in (subtotal, vat, total)
        ]
        cursor.execute(
            "INSERT INTO billing_bill (number, month, period_start, period_end, state, currency,"
            " consumption_kwh, subtotal, vat, total, needs_review, notes, daily_usage,"
            " created_at, updated_at, void_reason, account_id)"
            " VALUES (%s, '2026-11-01', '2026-11-01', '2026-11-30', 'draft', 'GBP', 0,"
            " %s, %s, %s, 0, '', '[]', '2026-12-01', '2026-12-01', '', 1)",
            [number, *values],
        )

    yield insert
    connection.close()
    django_db_blocker.restore()


@pytest.mark.parametrize(("subtotal", "vat", "total"), PENNY_SUMS)
def test_it_accepts_a_total_that_is_the_subtotal_plus_vat(sqlite_bills, subtotal, vat, total):
    sqlite_bills(subtotal, vat, total, number="B-1")


def test_it_still_refuses_a_total_a_penny_out(sqlite_bills):
    with pytest.raises(IntegrityError, match="bill_total_is_subtotal_plus_vat"):
        sqlite_bills("130.26", "6.51", "136.78", number="B-2")
