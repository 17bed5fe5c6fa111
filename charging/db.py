"""Database calls from the OCPP consumers.

Channels' ``database_sync_to_async`` runs Django's connection check before and after every call;
with ``CONN_HEALTH_CHECKS`` that is an extra ``SELECT 1`` round trip per call, on the one thread
all consumers of a process share. A charger sends a message every few seconds for months, so the
consumers check at most once a second, and at once after a call that failed (a broken connection
is then replaced before the next call).
"""

import threading
import time

from asgiref.sync import SyncToAsync
from django.db import close_old_connections, connection

CHECK_EVERY_SECONDS = 1.0
_checked = threading.local()


class ConsumerDatabaseSyncToAsync(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        now = time.monotonic()
        if now - getattr(_checked, "at", 0.0) >= CHECK_EVERY_SECONDS:
            close_old_connections()
            _checked.at = now
        try:
            return super().thread_handler(loop, *args, **kwargs)
        except BaseException:
            close_old_connections()
            raise
        finally:
            if connection.settings_dict.get("CONN_MAX_AGE") == 0:
                # Configured not to keep connections (as the tests are): do not keep one per
                # pool thread either.
                close_old_connections()


def db_call(func):
    return ConsumerDatabaseSyncToAsync(func, thread_sensitive=False)
