"""Customer reads and the corrections of readings (audit records), by reading ``(meter, at)``."""

from datetime import datetime

from django.db.models import QuerySet

from ..models import CustomerRead, Meter, Reading, ReadingCorrection


def reading_at(*, meter: Meter, at: datetime) -> Reading | None:
    return Reading.objects.filter(meter=meter, at=at).first()


def reading_corrections(*, meter: Meter, at: datetime) -> QuerySet[ReadingCorrection]:
    """The audit records of the reading of ``meter`` at ``at``, newest first."""
    return ReadingCorrection.objects.filter(meter=meter, at=at).select_related("made_by")


def customer_reads_of_meter(*, meter: Meter, limit: int = 10) -> list[CustomerRead]:
    """The meter's latest customer reads, newest read first."""
    return list(CustomerRead.objects.filter(meter=meter).order_by("-at")[:limit])
