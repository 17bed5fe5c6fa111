"""Reading reception: paused, in maintenance or open, for every write door."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.exceptions import ServiceUnavailable
from meters.models import (
    Reception,
    ReceptionChange,
)

log = logging.getLogger(__name__)


def reception_ensure_open() -> None:
    """Raise ServiceUnavailable (503 + Retry-After) while reception is paused or in maintenance.

    Every write door calls this before accepting data. It reads the database row each time (one
    primary-key lookup), so a pause is seen by every process as soon as it is committed.
    """
    state = Reception.objects.filter(pk=Reception.SINGLETON_PK).first()
    if state is None or state.is_open:
        return
    what = "maintenance" if state.maintenance else "paused"
    reason = f": {state.reason}" if state.reason else ""
    raise ServiceUnavailable(
        f"Reading reception is {what}{reason}. Retry later.",
        retry_after=settings.RECEPTION_RETRY_AFTER_SECONDS,
    )


@transaction.atomic
def reception_set(
    *,
    user: User | None,
    paused: bool | None = None,
    maintenance: bool | None = None,
    reason: str = "",
) -> Reception:
    """Pause/resume reception and switch maintenance mode; logs who changed what, and when."""
    state, _ = Reception.objects.select_for_update().get_or_create(pk=Reception.SINGLETON_PK)
    if paused is not None:
        state.paused = paused
    if maintenance is not None:
        state.maintenance = maintenance
    state.reason = reason if not state.is_open else ""
    state.changed_by = user
    state.changed_at = timezone.now()
    state.save()
    ReceptionChange.objects.create(
        paused=state.paused,
        maintenance=state.maintenance,
        reason=state.reason,
        changed_by=user,
        changed_at=state.changed_at,
    )
    log.warning(
        "reception %s by %s (paused=%s maintenance=%s)",
        state,
        user,
        state.paused,
        state.maintenance,
    )
    return state
