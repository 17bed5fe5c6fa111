"""The one place apps report their health on ``/status``.

An app registers a callable in its ``AppConfig.ready()``; ``/status`` calls each and shows the dict
it returns under the app's name. A section that raises is reported as an error, not a 500.
"""

import logging
import platform
import time
from collections.abc import Callable
from importlib import metadata

from django.core.cache import cache
from django.utils import timezone

log = logging.getLogger(__name__)

STARTED_AT = time.monotonic()
_sections: dict[str, Callable[[], dict]] = {}
BEAT_HEARTBEAT_KEY = "status:beat-heartbeat"
TASK_OUTCOME_KEY = "status:task-outcome:{task}"


def register_status_section(name: str, section: Callable[[], dict]) -> None:
    _sections[name] = section


def record_beat_heartbeat() -> None:
    cache.set(BEAT_HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)


def record_task_outcome(*, task: str, error: BaseException | None = None) -> None:
    """Keep how a Celery task's latest run ended, for /ops/ (beat itself records no outcome).
    Never raises: a cache outage must not fail the task it reports on."""
    outcome = {"at": timezone.now().isoformat(), "ok": error is None}
    if error is not None:
        outcome["error"] = f"{type(error).__name__}: {error}"[:300]
    try:
        cache.set(TASK_OUTCOME_KEY.format(task=task), outcome, timeout=None)
    except Exception:
        log.exception("outcome of task %s not recorded", task)


def task_outcomes(tasks: list[str]) -> dict[str, dict]:
    """The latest recorded outcome of each of ``tasks`` that has one."""
    keys = {TASK_OUTCOME_KEY.format(task=task): task for task in tasks}
    return {keys[key]: outcome for key, outcome in cache.get_many(list(keys)).items()}


def _versions() -> dict:
    packages = ("django", "djangorestframework", "channels", "celery", "paho-mqtt", "ocpp")
    return {"python": platform.python_version()} | {
        name: metadata.version(name) for name in packages
    }


def collect() -> dict:
    sections = {}
    for name, section in sorted(_sections.items()):
        try:
            sections[name] = section()
        except Exception as exc:  # a broken section must not hide the others
            log.exception("status section %s failed", name)
            sections[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "versions": _versions(),
        "uptime_seconds": round(time.monotonic() - STARTED_AT, 1),
        "now": timezone.now().isoformat(),
        "beat_last_heartbeat": cache.get(BEAT_HEARTBEAT_KEY),
        "sections": sections,
    }
