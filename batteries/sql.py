"""Query helpers for large id sets.

``field__in=[...]`` with thousands of values puts one placeholder per value into the SQL, and
psycopg's client-side binding then spends most of a batch's time splitting that text. On
PostgreSQL the values travel as one array parameter instead.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL


def field_in(field: str, values: Iterable, sql_type: str) -> Q:
    """``Q(<field>__in=values)``; ``sql_type`` is the PostgreSQL element type (uuid,
    timestamptz, ...)."""
    values = list(values)
    if connection.vendor == "postgresql":
        # sql_type is one of this app's literals, never input; the values are a parameter.
        array = RawSQL(f"SELECT unnest(%s::{sql_type}[])", [values])  # noqa: S611
        return Q(**{f"{field}__in": array})
    return Q(**{f"{field}__in": values})
