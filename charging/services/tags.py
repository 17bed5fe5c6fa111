"""Id tags (OCPP IdToken): the answers chargers get for them, and staff's registrations."""

from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import CustomerAccount
from config.exceptions import ApplicationError, Conflict

from ..models import (
    INT32_MAX,
    IdTag,
    Transaction,
)
from .common import _printable_ascii


def id_tag_info(*, id_tag: str, starting: bool = False, now: datetime | None = None) -> dict:
    """The IdTagInfo answer (snake_case keys) for a tag: Accepted, Blocked, Expired, Invalid or
    ConcurrentTx (only when ``starting`` and the tag already runs its maximum)."""
    now = now or timezone.now()
    tag = IdTag.objects.select_related("parent").filter(id_tag__iexact=id_tag).first()
    if tag is None:
        return {"status": "Invalid"}
    info: dict = {}
    if tag.expires_at:
        info["expiry_date"] = tag.expires_at.astimezone(UTC).isoformat()
    if tag.parent:
        info["parent_id_tag"] = tag.parent.id_tag
    status = tag.authorization_status(now)
    if status != "Accepted":
        return info | {"status": status}
    if starting and tag.max_concurrent_transactions:
        running = Transaction.objects.filter(tag=tag, stopped_at__isnull=True).count()
        if running >= tag.max_concurrent_transactions:
            return info | {"status": "ConcurrentTx"}
    return info | {"status": "Accepted"}


ID_TOKEN_MAX = 20  # OCPP 1.6 IdToken: CiString20Type


def id_token_validate(value: str, *, field: str = "id_tag") -> None:
    """OCPP 1.6 IdToken is a CiString20Type: 1 to 20 printable ASCII characters, compared
    ignoring case. Spaces at either end are refused: no reader sends them; a paste does."""
    if not 1 <= len(value) <= ID_TOKEN_MAX:
        raise ApplicationError(
            f"An id tag (OCPP IdToken, CiString20) has 1 to {ID_TOKEN_MAX} characters.",
            field=field,
        )
    if not _printable_ascii(value):
        raise ApplicationError(
            "An id tag (OCPP IdToken, CiString20) is printable ASCII only.", field=field
        )
    if value != value.strip():
        raise ApplicationError("An id tag has no spaces at either end.", field=field)


def _id_tag_exists(tag: IdTag) -> Conflict:
    return Conflict(
        f"Id tag {tag.id_tag} already exists (id tags are compared ignoring case).",
        field="id_tag",
        extra={"existing_id": tag.pk},
    )


def _id_tag_parent(parent_id_tag: str | None, *, tag: IdTag | None = None) -> IdTag | None:
    """The parent tag named ``parent_id_tag`` (ignoring case), or None for no parent. It must
    be registered, and a tag may not end up its own ancestor."""
    if not parent_id_tag:
        return None
    parent = IdTag.objects.filter(id_tag__iexact=parent_id_tag).first()
    if parent is None:
        raise ApplicationError(
            f"No id tag {parent_id_tag}: register the parent tag first.", field="parent_id_tag"
        )
    ancestor, seen = parent, set()
    while tag is not None and ancestor is not None and ancestor.pk not in seen:
        if ancestor.pk == tag.pk:
            raise ApplicationError(
                "A tag cannot be its own parent, directly or through other tags.",
                field="parent_id_tag",
            )
        seen.add(ancestor.pk)
        ancestor = ancestor.parent
    return parent


def _max_concurrent_validate(value: int) -> None:
    if not 0 <= value <= INT32_MAX:
        raise ApplicationError(
            f"max_concurrent_transactions is 0 (no limit) to {INT32_MAX}.",
            field="max_concurrent_transactions",
        )


@transaction.atomic
def id_tag_create(
    *,
    id_tag: str,
    account: CustomerAccount | None = None,
    parent_id_tag: str | None = None,
    expires_at: datetime | None = None,
    blocked: bool = False,
    max_concurrent_transactions: int = 1,
) -> IdTag:
    """A new tag. The same value in any case, or a replayed request, is a Conflict naming the
    stored tag: a retry never changes it."""
    id_token_validate(id_tag)
    existing = IdTag.objects.filter(id_tag__iexact=id_tag).first()
    if existing:
        raise _id_tag_exists(existing)
    _max_concurrent_validate(max_concurrent_transactions)
    tag = IdTag(
        id_tag=id_tag,
        account=account,
        parent=_id_tag_parent(parent_id_tag),
        expires_at=expires_at,
        blocked=blocked,
        max_concurrent_transactions=max_concurrent_transactions,
    )
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:  # the same tag raced this one
        raise _id_tag_exists(IdTag.objects.get(id_tag__iexact=id_tag)) from None
    return tag


ID_TAG_CHANGES = {
    "account",
    "parent_id_tag",
    "expires_at",
    "blocked",
    "max_concurrent_transactions",
}


@transaction.atomic
def id_tag_update(*, tag: IdTag, **changes) -> IdTag:
    """Staff change a tag's owner, parent, expiry, blocking or limit (``ID_TAG_CHANGES``). The
    tag's value never changes: sessions and chargers' local lists hold it. Chargers learn at
    their next Authorize; a charger's local list or cache still holds what it was sent."""
    if unknown := set(changes) - ID_TAG_CHANGES:
        raise TypeError(f"id_tag_update does not change {sorted(unknown)}")
    tag = IdTag.objects.select_for_update().get(pk=tag.pk)
    if "parent_id_tag" in changes:
        tag.parent = _id_tag_parent(changes.pop("parent_id_tag"), tag=tag)
    if "max_concurrent_transactions" in changes:
        _max_concurrent_validate(changes["max_concurrent_transactions"])
    for field, value in changes.items():
        setattr(tag, field, value)
    tag.save()
    return tag
