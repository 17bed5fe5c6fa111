"""A batch's vocabulary and its verdicts: the messages, what became of each, the guard that turns
a message's own failure into a dead letter, and the receipts that recognise a redelivery."""

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from config.database import array_cursor
from config.exceptions import ServiceUnavailable
from config.inputs import InputError

from .. import payloads
from ..models import DeadLetter, ReceivedMessage

log = logging.getLogger("meters.telemetry.services")

STORED = "stored"
DUPLICATE = "duplicate"
REJECTED = "rejected"
IGNORED = "ignored"

# Failures that are not the message's fault: the batch is held and retried, never dead-lettered.
INFRASTRUCTURE_ERRORS = (ServiceUnavailable, OperationalError, InterfaceError)
# A dead letter's reason is for people: long enough for a traceback's last line.
REASON_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    received_at: datetime


@dataclass
class BatchReport:
    """What became of each message of a batch (``outcomes[i]`` for ``messages[i]``) and why
    rejected ones were (``codes``)."""

    outcomes: list[str] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o == outcome)


def message_digest(message: Message) -> str:
    """A message's identity across redeliveries: its topic and bytes (MQTT's packet id is
    reused, and a restarted process sees redelivered messages without the dup flag)."""
    return hashlib.sha256(message.topic.encode() + b"\n" + bytes(message.payload)).hexdigest()


@dataclass(frozen=True)
class Refused:
    """A per-message step's verdict on a message it cannot use."""

    code: str
    reason: str


def guarded(step, *args, message: Message, **kwargs):
    """``step(*args, **kwargs)``, or the Refused verdict for whatever it raised: the one place a
    message's own failure is turned into a dead letter instead of stopping the batch or the
    process. Infrastructure errors propagate: retrying the batch later may succeed."""
    try:
        return step(*args, **kwargs)
    except INFRASTRUCTURE_ERRORS:
        raise
    except (payloads.PayloadError, InputError) as exc:
        return Refused(exc.code, str(exc))
    except Exception as exc:
        log.exception("telemetry: message on %s broke %s", message.topic[:256], step.__name__)
        return Refused("error", f"{type(exc).__name__}: {exc}")


def _dead_letter_row(message: Message, code: str, reason: str, device=None) -> DeadLetter:
    return DeadLetter(
        topic=message.topic[:256].replace("\x00", ""),
        payload=bytes(message.payload),
        code=code[:32],
        # PostgreSQL text cannot hold NUL, and an exception's text may quote the payload.
        reason=reason.replace("\x00", "")[:REASON_MAX_LENGTH],
        device_id=None if device is None else device.pk,
        received_at=message.received_at,
    )


def _dead_letter(
    dead: list[DeadLetter], message: Message, code: str, reason: str, device=None
) -> None:
    log.warning("telemetry: %s on %s: %s", code, message.topic[:256], reason[:500])
    if settings.TELEMETRY_DEAD_LETTERS:
        dead.append(_dead_letter_row(message, code, reason, device))


def _printable(payload: bytes, limit: int = 2000) -> str:
    """A payload as text for a text column: undecodable bytes replaced, NULs (which PostgreSQL
    text cannot hold) dropped."""
    return payload[:limit].decode("utf-8", errors="replace").replace("\x00", "")


def _reject(report: BatchReport, index: int, code: str) -> None:
    report.outcomes[index] = REJECTED
    report.codes[code] += 1


def _digests_record(digests: dict[str, datetime]) -> set[str]:
    """Record digests (with when received); return those that were not recorded before."""
    if settings.DATABASE_IS_POSTGRES:
        table = ReceivedMessage._meta.db_table
        with array_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (digest, received_at) "  # noqa: S608 - constant table name
                "SELECT * FROM unnest(%b::text[], %b::timestamptz[]) ON CONFLICT DO NOTHING "
                "RETURNING digest",
                [list(digests), list(digests.values())],
            )
            return {row[0] for row in cursor.fetchall()}
    # SQLite (the embedded demo) has one writer at a time: reading, then inserting, is safe.
    known = set(ReceivedMessage.objects.filter(digest__in=digests).values_list("digest", flat=True))
    fresh = {digest: at for digest, at in digests.items() if digest not in known}
    ReceivedMessage.objects.bulk_create(
        [ReceivedMessage(digest=digest, received_at=at) for digest, at in fresh.items()],
        ignore_conflicts=True,
    )
    return set(fresh)


def received_messages_prune(*, now: datetime | None = None) -> int:
    """Forget receipt digests older than the dedup window (supervision runs this every minute)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.TELEMETRY_DEDUP_WINDOW_SECONDS)
    deleted, _ = ReceivedMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted


def messages_dead_letter(*, messages: list[Message], code: str, reason: str) -> BatchReport:
    """Keep messages as dead letters without reading them (a message that failed alone, or one
    that was in progress when the process died ``crashed_before``). Should even this write fail
    for a reason of its own, the message is logged and given up: a dead letter must not become
    a poison message itself."""
    report = BatchReport(outcomes=[REJECTED] * len(messages), codes=Counter({code: len(messages)}))
    for message in messages:
        log.warning("telemetry: %s on %s: %s", code, message.topic[:256], reason[:500])
    if not settings.TELEMETRY_DEAD_LETTERS:
        return report
    try:
        with transaction.atomic():
            DeadLetter.objects.bulk_create(
                [_dead_letter_row(message, code, reason) for message in messages]
            )
    except INFRASTRUCTURE_ERRORS:
        raise
    except Exception:
        log.exception(
            "telemetry: could not keep %d dead letters (%s); payloads: %r",
            len(messages),
            code,
            [bytes(m.payload[:200]) for m in messages],
        )
    return report
