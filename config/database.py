"""Database connection tuning shared by every process.

Django (5.2) loads every PostgreSQL ``timestamptz`` through a Python subclass of psycopg's loader,
only to set the result's ``tzinfo`` to the connection's time zone. That runs psycopg's pure-Python
parser: about 7 µs a value, which made reading 500 meters and their devices the largest cost of an
MQTT ingest batch. When the session time zone is UTC (Django sets it so with ``USE_TZ``) psycopg's
C loader already returns ``datetime.timezone.utc`` values, the same objects Django's would, so on
such connections it is registered in Django's loader's place.
"""

from datetime import UTC

import psycopg
from django.db import connection
from django.db.backends.signals import connection_created
from psycopg.adapt import Loader
from psycopg.postgres import types
from psycopg.pq import Format

# psycopg's own loader: its C version when psycopg[binary] (or [c]) is installed. That class
# cannot be subclassed, hence the delegation below.
_FAST_LOADER = psycopg.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)


class UtcTimestamptzLoader(Loader):
    # Django compares this with the connection's time zone when it opens a cursor; equal, it keeps
    # the connection's loader (this one) instead of registering its own on the cursor.
    timezone = UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        # The fast loader's own bound method: each value is parsed without a Python frame.
        self.load = _FAST_LOADER(oid, context).load

    def load(self, data):  # shadowed on every instance by __init__
        raise NotImplementedError


def use_c_timestamptz_loader(sender, connection, **kwargs) -> None:
    """On a PostgreSQL connection whose session time zone is UTC, load timestamptz in C."""
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        return
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return
    connection.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)


def connect() -> None:
    connection_created.connect(use_c_timestamptz_loader, dispatch_uid="homegrid-c-timestamptz")


def array_cursor() -> psycopg.Cursor:
    """A cursor on the default connection (same transaction) that sends parameters apart from
    the SQL, for statements that pass large arrays (``unnest(%b::bigint[], ...)``) on PostgreSQL.

    Django's cursors bind client-side: every array element is quoted and escaped into the SQL
    text in Python. Here ``%b`` parameters travel in binary, dumped in C. Use it as a context
    manager; PostgreSQL only."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)
