"""The SQL of ingest: the stored readings around a batch, writing a batch (COPY on PostgreSQL)
and the meters' last-seen; each with a path for SQLite (the embedded demo)."""

import json
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from psycopg.errors import UniqueViolation

from config.database import array_cursor
from meters.models import (
    Meter,
    Reading,
    ReadingDiagnostic,
)

from .validation import (
    LockedMeter,
    _Candidate,
    _Point,
    _Series,
)


def _point_of(row: tuple) -> _Point:
    return _Point(
        at=row[0],
        import_kwh=row[1],
        export_kwh=row[2],
        register_reset=row[3],
        export_register_reset=row[4],
    )


_POINT_FIELDS = ("at", "import_kwh", "export_kwh", "register_reset", "export_register_reset")


_SERIES_SQL = """
WITH w(meter_id, start_at, end_at) AS (
    SELECT * FROM unnest(%(meters)b::bigint[], %(starts)b::timestamptz[], %(ends)b::timestamptz[])
)
SELECT 1 AS part, w.meter_id, p.at, p.import_kwh, p.export_kwh,
       p.register_reset, p.export_register_reset FROM w
  CROSS JOIN LATERAL (SELECT at, import_kwh, export_kwh, register_reset, export_register_reset
                      FROM {table} r
                      WHERE r.meter_id = w.meter_id AND r.at > w.start_at AND r.at <= w.end_at
                      OFFSET 0) p
UNION ALL
SELECT 0, w.meter_id, b.at, b.import_kwh, b.export_kwh,
       b.register_reset, b.export_register_reset FROM w
  CROSS JOIN LATERAL (SELECT at, import_kwh, export_kwh, register_reset, export_register_reset
                      FROM {table} r
                      WHERE r.meter_id = w.meter_id AND r.at <= w.start_at
                      ORDER BY r.at DESC LIMIT 1) b
UNION ALL
SELECT 2, w.meter_id, a.at, a.import_kwh, a.export_kwh,
       a.register_reset, a.export_register_reset FROM w
  CROSS JOIN LATERAL (SELECT at, import_kwh, export_kwh, register_reset, export_register_reset
                      FROM {table} r
                      WHERE r.meter_id = w.meter_id AND r.at > w.end_at
                      ORDER BY r.at LIMIT 1) a
ORDER BY 2, 3
"""


def _stored_series(windows: dict[int, tuple[datetime, datetime]]) -> dict[int, _Series]:
    """Stored readings of each meter in (start, end], with the nearest reading at or before start
    and the nearest after end: index range scans on (meter, at) whatever the table's size. (The
    ``OFFSET 0`` keeps each meter's range a scan of its own: joined to the window list instead,
    the planner may read the whole table when its statistics are stale, as after a bulk load.)"""
    if settings.DATABASE_IS_POSTGRES:
        return _stored_series_postgres(windows)
    return _stored_series_portable(windows)


def _stored_series_postgres(windows: dict[int, tuple[datetime, datetime]]) -> dict[int, _Series]:
    series = {meter_pk: _Series() for meter_pk in windows}
    pks = list(windows)
    with array_cursor() as cursor:
        cursor.execute(
            _SERIES_SQL.format(table=Reading._meta.db_table),
            {
                "meters": pks,
                "starts": [windows[pk][0] for pk in pks],
                "ends": [windows[pk][1] for pk in pks],
            },
        )
        for part, meter_pk, *point in cursor.fetchall():
            if part == 1:
                series[meter_pk].points.append(_point_of(point))
            elif part == 0:
                series[meter_pk].before = _point_of(point)
            else:
                series[meter_pk].after = _point_of(point)
    return series


def _stored_series_portable(windows: dict[int, tuple[datetime, datetime]]) -> dict[int, _Series]:
    """The same as the PostgreSQL query through the ORM, two small queries per meter (SQLite,
    the embedded demo)."""
    series = {meter_pk: _Series() for meter_pk in windows}
    pks = list(windows)
    for offset in range(0, len(pks), 200):
        chunk = pks[offset : offset + 200]
        in_window = Q()
        for pk in chunk:
            start, end = windows[pk]
            in_window |= Q(meter_id=pk, at__gt=start, at__lte=end)
        rows = Reading.objects.filter(in_window).order_by("meter_id", "at")
        for meter_pk, *point in rows.values_list("meter_id", *_POINT_FIELDS):
            series[meter_pk].points.append(_point_of(point))
    for pk, (start, end) in windows.items():
        readings = Reading.objects.filter(meter_id=pk).values_list(*_POINT_FIELDS)
        before = readings.filter(at__lte=start).order_by("-at").first()
        after = readings.filter(at__gt=end).order_by("at").first()
        series[pk].before = _point_of(before) if before else None
        series[pk].after = _point_of(after) if after else None
    return series


def _watts(value) -> float | None:
    return None if value is None else float(value)


_COLUMNS = (
    "meter_id, at, import_kwh, export_kwh, power_w, power_l1_w, power_l2_w, power_l3_w, "
    "source, quality, register_reset, export_register_reset"
)


def _write_readings(candidates: list[_Candidate], source: str) -> None:
    rows = [
        (
            c.meter.pk,
            c.at,
            c.import_kwh,
            c.export_kwh,
            _watts(c.item.power_w),
            _watts(c.item.power_l1_w),
            _watts(c.item.power_l2_w),
            _watts(c.item.power_l3_w),
            source,
            c.item.quality,
            c.register_reset,
            c.export_register_reset,
        )
        for c in candidates
    ]
    diagnostics = [(c.meter.pk, c.at, c.item.raw) for c in candidates if c.item.raw is not None]
    if settings.DATABASE_IS_POSTGRES:
        _copy_and_merge(rows)
        _diagnostics_write_postgres(diagnostics)
        return
    _insert_sqlite(rows)
    ReadingDiagnostic.objects.bulk_create(
        [ReadingDiagnostic(meter_id=pk, at=at, raw=raw) for pk, at, raw in diagnostics],
        batch_size=500,
        ignore_conflicts=True,
    )


def _diagnostics_write_postgres(diagnostics: list[tuple]) -> None:
    """The few readings that carry a diagnostic: one INSERT from arrays."""
    if not diagnostics:
        return
    with array_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ReadingDiagnostic._meta.db_table} (meter_id, at, raw) "  # noqa: S608
            "SELECT * FROM unnest(%b::bigint[], %b::timestamptz[], %b::jsonb[]) "
            "ON CONFLICT (meter_id, at) DO NOTHING",
            [
                [pk for pk, _, _ in diagnostics],
                [at for _, at, _ in diagnostics],
                [json.dumps(raw) for _, _, raw in diagnostics],
            ],
        )


def _insert_sqlite(rows: list[tuple]) -> None:
    """One executemany of plain tuples: a Reading instance and its per-value preparation per row
    made a year of a home's history take a minute on SQLite. The times are adapted as the
    field adapts them (naive UTC text); OR IGNORE only guards the primary key, as ON CONFLICT
    does above."""
    adapt = connection.ops.adapt_datetimefield_value
    marks = ", ".join(["%s"] * len(rows[0]))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT OR IGNORE INTO {Reading._meta.db_table} ({_COLUMNS}) "  # noqa: S608
            f"VALUES ({marks})",
            [(row[0], adapt(row[1]), *row[2:]) for row in rows],
        )


_STAGING = "meters_reading_staging"
# COPY in PostgreSQL's binary format: psycopg's C dumpers write each value as the server stores
# it, so neither side formats or parses text (half the CPU of a text COPY for a batch).
_COPY_TYPES = (
    "int8",
    "timestamptz",
    "numeric",
    "numeric",
    "float8",
    "float8",
    "float8",
    "float8",
    "text",
    "text",
    "bool",
    "bool",
)


def _copy_rows(cursor, table: str, rows: list[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def _copy_and_merge(rows: list[tuple]) -> None:
    """COPY the rows straight into the readings (#16 §3: one pass over them, where a staging
    table and an INSERT … SELECT made two). Rows were checked under the meters' row locks, so a
    stored row at one of their keys means a writer that took no lock: then, under a savepoint,
    the COPY is undone and the rows go through the staging table, whose INSERT's ON CONFLICT
    only guards the unique key."""
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                _copy_rows(cursor.cursor, Reading._meta.db_table, rows)
                return
        except UniqueViolation:
            pass
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ("
            "meter_id bigint, at timestamptz, import_kwh numeric, export_kwh numeric, "
            "power_w double precision, power_l1_w double precision, "
            "power_l2_w double precision, power_l3_w double precision, source varchar(8), "
            "quality varchar(9), register_reset boolean, export_register_reset boolean) "
            "ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {_STAGING}")
        _copy_rows(cursor.cursor, _STAGING, rows)
        merge = (
            f"INSERT INTO {Reading._meta.db_table} ({_COLUMNS}) "  # noqa: S608 - constant names
            f"SELECT {_COLUMNS} FROM {_STAGING} ON CONFLICT (meter_id, at) DO NOTHING"
        )
        cursor.execute(merge)
        cursor.execute(f"TRUNCATE {_STAGING}")


def _last_seen_save(meters: list[LockedMeter]) -> None:
    """Store the new last_seen of ``meters``: they are row-locked by this transaction, so the
    values computed here are current."""
    if not meters:
        return
    if not settings.DATABASE_IS_POSTGRES:
        Meter.objects.bulk_update(
            [Meter(pk=meter.pk, last_seen=meter.last_seen) for meter in meters],
            ["last_seen"],
            batch_size=500,
        )
        return
    with array_cursor() as cursor:
        cursor.execute(
            f"UPDATE {Meter._meta.db_table} AS m SET last_seen = v.at "  # noqa: S608 - constant
            "FROM unnest(%b::bigint[], %b::timestamptz[]) AS v(id, at) WHERE m.id = v.id",
            [[meter.pk for meter in meters], [meter.last_seen for meter in meters]],
        )
