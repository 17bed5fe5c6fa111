"""Celery tasks of the telemetry app: thin calls of services."""

from celery import shared_task

from . import services


@shared_task
def supervise() -> str:
    """Every minute (beat): mark the ingest healthy / degraded / down and raise or resolve
    alerts."""
    return services.supervision_run()["status"]
