"""Dependency checks behind ``/healthz``: each returns None when healthy or the error it met.

Apps add their own (e.g. the MQTT ingest) with ``register_health_check`` in ``AppConfig.ready()``.
"""

import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from config.celery import app as celery_app


def check_database() -> str | None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        connections["default"].close_if_unusable_or_obsolete()
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def check_cache() -> str | None:
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", timeout=5)
        value = cache.get(key)
        cache.delete(key)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if value == "ok" else "cache did not return what was stored"


def check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}
_backends: dict[str, Callable[[], str]] = {
    "database": lambda: settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
    "cache": lambda: settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
    "broker": lambda: celery_app.conf.broker_url.split("://", 1)[0],
}


def register_health_check(
    name: str, check: Callable[[], str | None], backend: Callable[[], str] = lambda: ""
) -> None:
    """``check()`` returns None when healthy, else what is wrong; a failure makes /healthz 503."""
    CHECKS[name] = check
    _backends[name] = backend


def _run(check: Callable[[], str | None]) -> str | None:
    try:
        return check()
    except Exception as exc:  # a check that cannot even run is a failed check, not a 500
        return f"{type(exc).__name__}: {exc}"


def run_checks() -> dict[str, str | None]:
    return {name: _run(check) for name, check in CHECKS.items()}


def backends() -> dict[str, str]:
    return {name: backend() for name, backend in _backends.items()}
