"""Dependency checks behind ``/healthz``: each returns None when healthy or the error it met."""

import uuid

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


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def run_checks() -> dict[str, str | None]:
    return {name: check() for name, check in CHECKS.items()}


def backends() -> dict[str, str]:
    return {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
        "broker": celery_app.conf.broker_url.split("://", 1)[0],
    }
