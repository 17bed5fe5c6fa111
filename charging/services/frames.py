"""The frame log: every OCPP frame in and out, stored in batches, kept for a retention period."""

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import (
    Charger,
    OcppMessage,
)
from .common import _commit_without_waiting_for_disk


def _frame_fields(frame: str) -> dict:
    try:
        parsed = json.loads(frame)
    except (ValueError, TypeError):
        return {}
    if not isinstance(parsed, list) or len(parsed) < 2:
        return {}
    fields = {"unique_id": str(parsed[1])[:64]}
    if isinstance(parsed[0], int) and 2 <= parsed[0] <= 4:
        fields["message_type"] = parsed[0]
    if parsed[0] == 2 and len(parsed) > 2:
        fields["action"] = str(parsed[2])[:64]
    return fields


@transaction.atomic
def ocpp_messages_record(*, rows: list[dict]) -> None:
    """Store a batch of frames (dicts of charger_id, charge_point_id, direction, frame,
    created_at) and move each sending charger's last message time forward (one commit)."""
    _commit_without_waiting_for_disk()
    if settings.CHARGING_LOG_MESSAGES:
        OcppMessage.objects.bulk_create(
            OcppMessage(**row, **_frame_fields(row["frame"])) for row in rows
        )
    last_in: dict[int, datetime] = {}
    for row in rows:
        if row["direction"] == "in" and row["charger_id"]:
            last_in[row["charger_id"]] = max(
                row["created_at"], last_in.get(row["charger_id"], row["created_at"])
            )
    if last_in:
        newest = max(last_in.values())
        Charger.objects.filter(pk__in=last_in).filter(
            Q(last_message_at__lt=newest) | Q(last_message_at__isnull=True)
        ).update(last_message_at=newest)


def ocpp_messages_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHARGING_MESSAGE_RETENTION_DAYS)
    deleted, _ = OcppMessage.objects.filter(created_at__lt=cutoff).delete()
    return deleted
