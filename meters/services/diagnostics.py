"""Reading diagnostics (what a source sent beyond a reading's columns) are kept for a short time."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from meters.models import ReadingDiagnostic


def reading_diagnostics_prune(*, now: datetime | None = None) -> int:
    """Delete the diagnostics of readings older than READING_DIAGNOSTICS_RETENTION_DAYS (the
    archives keep them with their readings). Returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.READING_DIAGNOSTICS_RETENTION_DAYS)
    return ReadingDiagnostic.objects.filter(at__lt=cutoff).delete()[0]
