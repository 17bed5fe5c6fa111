"""Who wants which mail, and the webhook endpoints staff register."""

from urllib.parse import urlsplit

from django.db import transaction

from accounts.models import User
from config.exceptions import InvalidInput
from config.inputs import InputError, text_check

from ..models import MAIL_KINDS, EventKind, NotificationPreference, WebhookEndpoint


@transaction.atomic
def preferences_set(*, user: User, wanted: list[str]) -> NotificationPreference:
    """The user gets mail of the ``wanted`` kinds and none of the other mailable ones."""
    unknown = [kind for kind in wanted if kind not in MAIL_KINDS]
    if unknown:
        raise InvalidInput({"wanted": [f"No mail kind {unknown[0]!r}."]})
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    preference.muted_kinds = [kind for kind in MAIL_KINDS if kind not in wanted]
    preference.save()
    return preference


def webhook_endpoint_check(*, name: str, url: str, kinds: list[str]) -> None:
    """The one rule of an endpoint, for the admin and any other door."""
    errors: dict[str, list[str]] = {}
    try:
        text_check(name or "")
        text_check(url or "")
    except InputError as exc:
        errors["url"] = [exc.message]
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors["url"] = ["Must be an http:// or https:// address with a host."]
    if not kinds:
        errors["kinds"] = ["Choose at least one event kind."]
    elif any(kind not in EventKind.values for kind in kinds):
        errors["kinds"] = [f"Kinds are among: {', '.join(EventKind.values)}."]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def webhook_endpoint_save(*, endpoint: WebhookEndpoint, by: User | None = None) -> WebhookEndpoint:
    webhook_endpoint_check(name=endpoint.name, url=endpoint.url, kinds=endpoint.kinds)
    if endpoint.pk is None:
        endpoint.created_by = by
    endpoint.save()
    return endpoint
