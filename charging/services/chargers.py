"""Staff's side of a charger: its identity, registration, owner and password (the key it
authenticates with)."""

from django.db import IntegrityError, transaction

from accounts.models import CustomerAccount, User
from config.exceptions import ApplicationError, Conflict

from .. import keys
from ..models import (
    Charger,
    Registration,
)
from .commands import command_create
from .common import _printable_ascii

UNAUTHENTICATED_ACCEPT_REFUSED = (
    "Set the charger's password before accepting it: an accepted charger must authenticate."
)
CHARGE_POINT_ID_MAX = 48  # the column, and what routing.py takes from the URL


def charge_point_id_validate(charge_point_id: str) -> None:
    """OCPP-J 1.6 puts the identity in the connection URL and in HTTP Basic's user name: printable
    ASCII without "/" (it ends the URL's path segment) or ":" (it ends a Basic user name). Spaces
    inside are allowed ("RDAM 123" is the spec's example), at either end they are a typo."""
    if not 1 <= len(charge_point_id) <= CHARGE_POINT_ID_MAX:
        raise ApplicationError(
            f"A charge point identity has 1 to {CHARGE_POINT_ID_MAX} characters.",
            field="charge_point_id",
        )
    if not _printable_ascii(charge_point_id) or "/" in charge_point_id or ":" in charge_point_id:
        raise ApplicationError(
            'A charge point identity is printable ASCII without "/" or ":": chargers send it in '
            "the connection URL and as the HTTP Basic user name.",
            field="charge_point_id",
        )
    if charge_point_id != charge_point_id.strip():
        raise ApplicationError(
            "A charge point identity has no spaces at either end.", field="charge_point_id"
        )


def charger_password_validate(password: str) -> None:
    """A key staff enter (one the charger was installed with): 16 to 40 printable ASCII
    characters, as the OCPP security whitepaper makes the AuthorizationKey. Leave it out and the
    server generates one."""
    if not keys.KEY_MIN <= len(password) <= keys.KEY_MAX or not _printable_ascii(password):
        raise ApplicationError(
            f"A charger password (AuthorizationKey) has {keys.KEY_MIN} to {keys.KEY_MAX} "
            "printable ASCII characters; leave it out to have one generated.",
            field="password",
        )


def _charger_exists(charger: Charger) -> Conflict:
    return Conflict(
        f"Charger {charger.charge_point_id} already exists.",
        field="charge_point_id",
        extra={"existing_id": charger.pk},
    )


@transaction.atomic
def charger_register(
    *,
    charge_point_id: str,
    password: str = "",
    account: CustomerAccount | None = None,
    registration: str = Registration.ACCEPTED,
) -> Charger:
    """A new charger. Registering the same identity again (a replayed request) is a Conflict
    naming the stored charger: there is no idempotent create, so a retry never changes it.

    An Accepted charger registered without a password gets a generated key, on the returned
    object only (``authorization_key``): shown once, as API tokens are; only its digest is
    stored."""
    charge_point_id_validate(charge_point_id)
    existing = Charger.objects.filter(charge_point_id=charge_point_id).first()
    if existing:
        raise _charger_exists(existing)
    generated = ""
    if password:
        charger_password_validate(password)
    elif registration == Registration.ACCEPTED:
        password = generated = keys.key_new()
    charger = Charger(charge_point_id=charge_point_id, account=account, registration=registration)
    charger.set_password(password)
    charger.authorization_key = generated
    try:
        with transaction.atomic():
            charger.save()
    except IntegrityError:  # the same registration raced this one
        raise _charger_exists(Charger.objects.get(charge_point_id=charge_point_id)) from None
    return charger


CHARGER_CHANGES = {"account", "registration", "password"}


@transaction.atomic
def charger_update(*, charger: Charger, requested_by: User | None = None, **changes) -> Charger:
    """Staff change a charger's owner, registration or password (``CHARGER_CHANGES``; its
    identity is what it connects with and never changes). Registration Rejected retires a
    charger: it is answered Rejected at every boot and sent nothing; a connected one learns at
    its next BootNotification."""
    if unknown := set(changes) - CHARGER_CHANGES:
        raise TypeError(f"charger_update does not change {sorted(unknown)}")
    charger = Charger.objects.select_for_update().get(pk=charger.pk)
    registration = changes.get("registration", charger.registration)
    if "password" in changes:
        if not changes["password"] and registration == Registration.ACCEPTED:
            raise ApplicationError(UNAUTHENTICATED_ACCEPT_REFUSED, field="password")
        charger_set_password(charger=charger, password=changes["password"])
    if "account" in changes:
        charger.account = changes["account"]
        charger.save(update_fields=["account"])
    if registration != charger.registration:
        charger_set_registration(
            charger=charger, registration=registration, requested_by=requested_by
        )
    return charger


@transaction.atomic
def charger_delete(*, charger: Charger) -> None:
    """Delete a charger registered by mistake. One that any record refers to (sessions, its
    frame log, status history, commands...) or that is connected is kept - Conflict - and is
    retired instead with registration Rejected, so its history stays whole."""
    # Locked: a row that would refer to it (a new frame, a session) waits until this is done.
    charger = Charger.objects.select_for_update().get(pk=charger.pk)
    retire = 'Retire it instead: set its registration to "Rejected".'
    if charger.connected:
        raise Conflict(f"Charger {charger.charge_point_id} is connected. {retire}")
    referring = [
        str(relation.related_model._meta.verbose_name_plural)
        for relation in Charger._meta.related_objects
        if relation.related_model._base_manager.filter(**{relation.field.name: charger}).exists()
    ]
    if referring:
        raise Conflict(
            f"Charger {charger.charge_point_id} cannot be deleted: {', '.join(referring)} refer "
            f"to it. {retire}",
            extra={"referred_to_by": referring},
        )
    charger.delete()


@transaction.atomic
def charger_set_registration(
    *, charger: Charger, registration: str, requested_by: User | None = None
) -> Charger:
    """Staff accept or reject a charger. It learns at its next BootNotification; a connected
    charger that is accepted is asked for one at once (TriggerMessage is allowed while Pending)."""
    if registration == Registration.ACCEPTED and not charger.password_hash:
        raise ApplicationError(UNAUTHENTICATED_ACCEPT_REFUSED, field="password")
    charger.registration = registration
    charger.save(update_fields=["registration"])
    charger.refresh_from_db(fields=["connected", "channel_name"])
    if registration == Registration.ACCEPTED and charger.connected:
        command_create(
            charger=charger,
            operation="TriggerMessage",
            payload={"requestedMessage": "BootNotification"},
            requested_by=requested_by,
        )
    return charger


@transaction.atomic
def charger_set_password(*, charger: Charger, password: str) -> Charger:
    """Set (or with "" remove) the HTTP Basic password; only its hash is stored."""
    if password:
        charger_password_validate(password)
    charger.set_password(password)
    charger.save(update_fields=["password_hash"])
    return charger
