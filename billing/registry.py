"""What other apps tell billing, registered by those apps (in ``AppConfig.ready``) so the
dependency points from them to billing, visibly, and billing runs without them.

- **Session savings** (``register_session_savings``): an app that smart-charges sessions (flex)
  says, for finished charging sessions, what smart charging saved against charging on plug-in.
  The provider is called as ``provider(transactions=[...])`` with the charging app's
  ``Transaction`` rows of one bill and answers ``{transaction pk: SessionSaving}`` for the
  sessions it planned, leaving the others out. A bill line of such a session says the saving.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class SessionSaving:
    """What a smart-charged session saved: the reference (charging on plug-in) less what it
    cost, both at the household's import prices with VAT, in pence (may be negative: it cost
    more). ``unpriced_wh``: energy in half-hours without a price, left out of both."""

    saved_pence: Decimal
    unpriced_wh: int = 0


SessionSavingsProvider = Callable[..., dict[int, SessionSaving]]

_savings_providers: list[SessionSavingsProvider] = []


def register_session_savings(provider: SessionSavingsProvider) -> None:
    if provider not in _savings_providers:
        _savings_providers.append(provider)


def session_savings(*, transactions: list) -> dict[int, SessionSaving]:
    """Every registered provider's savings for ``transactions`` (the first provider to answer
    for a session wins)."""
    found: dict[int, SessionSaving] = {}
    if not transactions:
        return found
    for provider in _savings_providers:
        for pk, saving in provider(transactions=transactions).items():
            found.setdefault(pk, saving)
    return found
