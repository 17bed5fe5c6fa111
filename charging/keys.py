"""Charger authorization keys: the HTTP Basic password of OCPP-J 1.6 security profile 1.

OCPP-J 1.6 (6.2.2) makes the password a 20-byte key stored on the charger, set through the
write-only configuration key AuthorizationKey as 40 hexadecimal characters; the security
whitepaper allows 16 to 40 characters. The server generates keys (20 random bytes, shown once,
as API tokens are) and staff may enter one a charger was installed with (16 to 40 printable
ASCII characters).

A key of that entropy needs no slow hash: it is stored as HMAC-SHA256 keyed with the server's
SECRET_KEY (Django's ``salted_hmac``), so the database alone reveals nothing a guesser could test
offline, and a handshake costs microseconds - the whole fleet reconnects at once after an
outage. Digests made with a key in SECRET_KEY_FALLBACKS still match (and are rewritten with the
current one), so SECRET_KEY can be rotated the way Django rotates it.

Chargers registered before this scheme have PBKDF2 hashes of operator-chosen passwords, which
cannot be converted without the password. They are verified the slow way once, at their first
successful connect, and rewritten to the keyed digest then (``needs_rehash``); a wrong password
for such a charger costs the PBKDF2 run each time, bounded by the handshake limit.
"""

import hmac
import re
import secrets

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.utils.crypto import salted_hmac

SCHEME = "hmac_sha256"
KEY_BYTES = 20
KEY_MIN, KEY_MAX = 16, 40
_SALT = "charging.charger-authorization-key"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{40}")


def key_new() -> str:
    """A new key: 20 random bytes as the 40 hexadecimal characters AuthorizationKey takes."""
    return secrets.token_hex(KEY_BYTES)


def key_canonical(raw: bytes | str) -> str | None:
    """The form a key is stored and compared in. The 20 raw bytes (as OCPP-J's example sends
    them) and their hexadecimal form in either case are one key; anything else is the text the
    charger sent, or None when it is not text at all."""
    if isinstance(raw, bytes):
        if len(raw) == KEY_BYTES and not _printable(raw):
            return raw.hex()
        try:
            raw = raw.decode()
        except UnicodeDecodeError:
            return None
    return raw.lower() if _HEX_KEY.fullmatch(raw) else raw


def _printable(raw: bytes) -> bool:
    return all(0x20 <= byte <= 0x7E for byte in raw)


def _digest(key: str, secret: str) -> str:
    return f"{SCHEME}${salted_hmac(_SALT, key, secret=secret, algorithm='sha256').hexdigest()}"


def key_digest(key: str) -> str:
    """What is stored for ``key`` (already canonical)."""
    return _digest(key, settings.SECRET_KEY)


def key_matches(raw: bytes | str | None, stored: str) -> tuple[bool, bool]:
    """(matches, needs_rehash): whether ``raw`` is the key ``stored`` was made from, and whether
    ``stored`` should be rewritten with ``key_digest`` (a legacy hash or a fallback secret)."""
    if raw is None or not stored:
        return False, False
    key = key_canonical(raw)
    if key is None:
        return False, False
    if not stored.startswith(f"{SCHEME}$"):
        legacy = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        matches = check_password(legacy, stored)
        return matches, matches
    secrets_in_order = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for position, secret in enumerate(secrets_in_order):
        if hmac.compare_digest(_digest(key, secret), stored):
            return True, position > 0
    return False, False
