"""Delivering instructions to units over MQTT and recording their answers. A delivery is queued
after the issuing transaction commits (``_deliver_on_commit``), by the Celery task that
BatteriesConfig.ready registers here: the tasks call these services, so importing them would be a
cycle."""

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.exceptions import ApplicationError, NotFound
from meters.telemetry.topics import battery_command_topic

from .. import publish
from ..models import (
    ACTIVE_INSTRUCTION_STATUSES,
    Battery,
    BatteryInstruction,
    InstructionAction,
    InstructionStatus,
)
from ..sql import field_in

log = logging.getLogger(__name__)

# How a delivery is queued (see the module's docstring).
_delivery: dict[str, Callable[[list[str]], object]] = {}


def instructions_delivery_register(*, queue: Callable[[list[str]], object]) -> None:
    _delivery["queue"] = queue


def _deliver_on_commit(ids: list) -> None:
    if ids:
        queue = _delivery["queue"]
        transaction.on_commit(lambda: queue([str(i) for i in ids]))


def _command(instruction: BatteryInstruction) -> dict:
    return {
        "instruction_id": str(instruction.pk),
        "action": instruction.action,
        "power_kw": float(instruction.power_kw) if instruction.power_kw is not None else None,
        "reserve_soc": (
            float(instruction.reserve_soc) if instruction.reserve_soc is not None else None
        ),
        "issued_at": instruction.created_at.isoformat(),
        "expires_at": instruction.expires_at.isoformat(),
    }


def instructions_deliver(*, instruction_ids: list) -> dict[str, int]:
    """Publish the instructions still in force to ``<root>/<identifier>/cmd`` (QoS 1) over one
    connection; those the broker confirms become sent (or stay acknowledged when refreshed),
    the others failed. Runs outside any transaction: a slow broker must not hold locks."""
    now = timezone.now()
    instructions = list(
        BatteryInstruction.objects.filter(
            field_in("pk", [uuid.UUID(str(i)) for i in instruction_ids], "uuid"),
            status__in=ACTIVE_INSTRUCTION_STATUSES,
            expires_at__gt=now,
        ).select_related("battery")
    )
    if not instructions:
        return {"sent": 0, "failed": 0}
    outcomes = publish.publish_commands(
        [
            (battery_command_topic(instruction.battery.identifier), _command(instruction))
            for instruction in instructions
        ]
    )
    delivered = defaultdict(list)
    for instruction, error in zip(instructions, outcomes, strict=True):
        delivered[error].append(instruction.pk)
    with transaction.atomic():
        sent = BatteryInstruction.objects.filter(
            field_in("pk", delivered.pop(None, []), "uuid"), status=InstructionStatus.PENDING
        ).update(status=InstructionStatus.SENT, sent_at=now)
        failed = 0
        for error, ids in delivered.items():
            log.warning("battery instructions not delivered (%s): %s", error, len(ids))
            failed += BatteryInstruction.objects.filter(
                field_in("pk", ids, "uuid"), status__in=ACTIVE_INSTRUCTION_STATUSES
            ).update(
                status=InstructionStatus.FAILED,
                finished_at=now,
                detail=f"Not delivered: {error}"[:300],
            )
    return {"sent": sent, "failed": failed}


@transaction.atomic
def _reserve_record(instruction: BatteryInstruction) -> None:
    """Keep the accepted reserve in the registry, unless it is not below the battery's maximum
    (a rule made before the maximum was lowered): then the detail says why it was not kept."""
    updated = Battery.objects.filter(
        pk=instruction.battery_id, max_soc_reserve__gt=instruction.reserve_soc
    ).update(min_soc_reserve=instruction.reserve_soc)
    if not updated:
        instruction.detail = (
            f"{instruction.detail} (registry reserve unchanged: {instruction.reserve_soc} % is "
            "not below the battery's maximum)"
        ).strip()[:300]
        instruction.save(update_fields=["detail"])


def instruction_answer(
    *, identifier: str, instruction_id: str, accepted: bool, reason: str = ""
) -> BatteryInstruction:
    """The unit's answer to a command. Sent or pending -> acknowledged or rejected; a replayed
    answer changes nothing; an answer to an instruction that already ended is noted in its detail
    but does not revive it. A unit that accepts a new reserve has it: the registry's
    ``min_soc_reserve`` (what monitoring compares the charge with) becomes that reserve."""
    try:
        instruction = (
            BatteryInstruction.objects.select_for_update()
            .select_related("battery")
            .get(pk=instruction_id)
        )
    except (BatteryInstruction.DoesNotExist, ValidationError) as exc:
        raise NotFound(f"No instruction {instruction_id}.", field="instruction_id") from exc
    if instruction.battery.identifier != identifier:
        raise ApplicationError(
            f"Instruction {instruction_id} is not for battery {identifier}.",
            field="instruction_id",
        )
    now = timezone.now()
    outcome = InstructionStatus.ACKNOWLEDGED if accepted else InstructionStatus.REJECTED
    if instruction.status in (InstructionStatus.PENDING, InstructionStatus.SENT):
        instruction.status = outcome
        instruction.answered_at = now
        instruction.detail = (reason or "")[:300]
        if outcome == InstructionStatus.REJECTED:
            instruction.finished_at = now
        instruction.save(update_fields=["status", "answered_at", "detail", "finished_at"])
        if accepted and instruction.action == InstructionAction.SET_RESERVE:
            _reserve_record(instruction)
    elif instruction.status == InstructionStatus.ACKNOWLEDGED and not accepted:
        # A refresh the unit refused: the instruction is no longer in force on the unit.
        instruction.status = InstructionStatus.REJECTED
        instruction.finished_at = now
        instruction.detail = (reason or "Refresh rejected.")[:300]
        instruction.save(update_fields=["status", "finished_at", "detail"])
    elif (
        instruction.status not in (InstructionStatus.ACKNOWLEDGED, InstructionStatus.REJECTED)
        and "late answer" not in instruction.detail
    ):
        instruction.detail = f"{instruction.detail} (late answer: {outcome})"[:300]
        instruction.save(update_fields=["detail"])
    return instruction
