"""Migration 0006 (issue #16 §1) on a database that already holds readings: every reading
kept with its values, ``raw`` moved into the diagnostics, the surrogate id and the index on the
meter alone gone, and back again."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from meters.models import Reading, ReadingDiagnostic
from meters.tests.factories import MeterFactory

BEFORE = [("meters", "0005_reading_export_register_reset")]
T0 = datetime(2026, 3, 1, tzinfo=UTC)
VALUES = ("meter_id", "at", "import_kwh", "export_kwh", "power_w", "source", "quality")


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _insert_old_readings(meters) -> list[tuple]:
    """Rows as 0005's table holds them: a surrogate id, ``raw`` in every live reading."""
    rows = []
    for number, meter in enumerate(meters):
        for n in range(50):
            raw = json.dumps({"payload": f"n={n}"}) if number == 0 else None
            export = None if n % 2 else 2 + n
            rows.append((meter.pk, T0 + timedelta(minutes=30 * n), 100 + n, export, raw))
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO meters_reading (meter_id, at, import_kwh, export_kwh, power_w, source,"
            " quality, register_reset, export_register_reset, raw)"
            " VALUES (%s, %s, %s, %s, 1.5, 'mqtt', 'actual', false, false, %s)",
            rows,
        )
    return rows


def _constraints() -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, "meters_reading")


def _names_on_meter_alone() -> dict[str, list[str]]:
    """The names of the foreign keys and of the indexes on ``meter_id`` alone."""
    constraints = _constraints()
    return {
        kind: sorted(
            name
            for name, c in constraints.items()
            if c["columns"] == ["meter_id"] and c[kind] and not c["primary_key"]
        )
        for kind in ("foreign_key", "index")
    }


def _table_shape() -> tuple[list[str], list[list[str]], list[list[str]]]:
    with connection.cursor() as cursor:
        columns = [
            c.name for c in connection.introspection.get_table_description(cursor, "meters_reading")
        ]
    constraints = _constraints()
    primary = [c["columns"] for c in constraints.values() if c["primary_key"]]
    return columns, primary, [c["columns"] for c in constraints.values() if c["index"]]


@pytest.mark.django_db(transaction=True)
def test_it_migrates_stored_readings_to_the_compact_table_and_back():
    live, interval = MeterFactory(kind="live"), MeterFactory()
    try:
        _migrate(BEFORE)
        names_before = _names_on_meter_alone()
        rows = _insert_old_readings([live, interval])
        _migrate(None)

        stored = list(Reading.objects.order_by("meter_id", "at").values_list(*VALUES))
        assert stored == [
            (pk, at, value, export, 1.5, "mqtt", "actual")
            for pk, at, value, export, _ in sorted(rows)
        ]
        diagnostics = ReadingDiagnostic.objects.order_by("at").values_list("meter_id", "raw")
        assert list(diagnostics) == [(live.pk, {"payload": f"n={n}"}) for n in range(50)]
        columns, primary, indexes = _table_shape()
        assert "id" not in columns and "raw" not in columns
        assert primary == [["meter_id", "at"]]
        assert ["meter_id"] not in indexes
        assert _names_on_meter_alone()["foreign_key"] == names_before["foreign_key"]

        _migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(raw), count(DISTINCT id) FROM meters_reading")
            assert cursor.fetchone() == (100, 50, 100)
        assert _table_shape()[1] == [["id"]]
        assert _names_on_meter_alone() == names_before
    finally:
        _migrate(None)
