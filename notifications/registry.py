"""Where apps above this one plug into notifications (the dependency points up, so the lower
app offers a registry): an app registers, in its ``AppConfig.ready()``, what a kind's mail
carries — its subject and body, and attachments such as billing's PDF invoice."""

from collections.abc import Callable
from dataclasses import dataclass

Attachment = tuple[str, bytes, str]  # file name, content, MIME type


@dataclass(frozen=True)
class MailParts:
    subject: str
    body: str
    attachments: list[Attachment]


_composers: dict[str, Callable[[dict], MailParts]] = {}


def register_mail_composer(kind: str, compose: Callable[[dict], MailParts]) -> None:
    """``compose(payload)`` makes the mail of an event of ``kind`` (called in the worker)."""
    _composers[kind] = compose


def mail_composer(kind: str) -> Callable[[dict], MailParts] | None:
    return _composers.get(kind)
