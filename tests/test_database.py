"""config.database: timestamptz loaded by psycopg's C loader, and array_cursor's binary arrays,
against the real PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from psycopg.postgres import types
from psycopg.pq import Format

from config.database import UtcTimestamptzLoader, array_cursor

pytestmark = pytest.mark.django_db


def test_connections_load_timestamptz_in_c_with_djangos_utc():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    assert loader is UtcTimestamptzLoader
    instant = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)
    away = instant.astimezone(timezone(timedelta(hours=-7)))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::timestamptz, %s::timestamptz, NULL::timestamptz", [instant, away]
        )
        first, second, empty = cursor.fetchone()
    assert first == second == instant
    assert first.tzinfo is UTC and second.tzinfo is UTC
    assert empty is None


def test_array_cursor_sends_arrays_in_binary_within_the_same_transaction():
    texts = ["plain", 'quote " and \\ backslash', "", None, "{braces}, commas"]
    with array_cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE t (n bigint, s text)")
        cursor.execute(
            "INSERT INTO t SELECT * FROM unnest(%b::bigint[], %b::text[])",
            [list(range(len(texts))), texts],
        )
    with connection.cursor() as cursor:  # Django's cursor sees the rows: same transaction
        cursor.execute("SELECT s FROM t ORDER BY n")
        assert [row[0] for row in cursor.fetchall()] == texts
