"""Beat jobs of the meters app: each a thin call of one service."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import archives, services
from .models import ArchiveKind


@shared_task
def archive_yesterday() -> int:
    """Daily at 00:30 local: archive yesterday's readings. Returns the number of rows."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return archives.archive_write(kind=ArchiveKind.DAILY, period_start=yesterday).rows


@shared_task
def archive_last_month() -> int:
    """Monthly on the 1st: archive the previous month's readings."""
    last_month = timezone.localdate().replace(day=1) - timedelta(days=1)
    return archives.archive_write(kind=ArchiveKind.MONTHLY, period_start=last_month).rows


@shared_task
def prune_raw_readings() -> int:
    """Daily: prune archived raw live-meter readings older than RAW_RETENTION_DAYS."""
    return archives.readings_prune()


@shared_task
def prune_reading_diagnostics() -> int:
    """Daily: delete reading diagnostics older than READING_DIAGNOSTICS_RETENTION_DAYS."""
    return services.reading_diagnostics_prune()
