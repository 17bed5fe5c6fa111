"""Every write to users, customer accounts and API tokens."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from config.exceptions import Conflict, InvalidInput, NotFound

from .models import ApiToken, CustomerAccount, Role, User
from .postcodes import normalise_postcode, outward_code


def _validate_new_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput({"password": exc.messages}) from exc


def _full_clean(account: CustomerAccount) -> None:
    """The model's field rules, refused as the other rules are."""
    try:
        account.full_clean(exclude=["users"])
    except ValidationError as exc:
        raise InvalidInput.from_model(exc) from exc


@transaction.atomic
def user_create(
    *, email: str, password: str | None, role: str = Role.CUSTOMER, full_name: str = ""
) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("A user with this email address already exists.", field="email")
    user = User(email=email, role=role, full_name=full_name)
    if password is None:
        user.set_unusable_password()
    else:
        _validate_new_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("A user with this email address already exists.", field="email") from exc
    return user


@transaction.atomic
def user_update(*, user: User, keep_token: ApiToken | None = None, **changes) -> User:
    """Change a user's details (staff, or the user through ``user_update_own``).

    A new email address is announced to the old one once the change is committed; a new
    password goes through ``user_password_set`` (every token but ``keep_token`` revoked)."""
    old_email = user.email
    if "email" in changes:
        email = User.objects.normalize_email(changes["email"]).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise Conflict("A user with this email address already exists.", field="email")
        changes["email"] = email
    password = changes.pop("password", None)
    for field, value in changes.items():
        setattr(user, field, value)
    user.save()
    if password:
        user_password_set(user=user, password=password, keep_token=keep_token)
    if user.email != old_email:
        transaction.on_commit(
            lambda: _tell_old_address(old_email=old_email, new_email=user.email, user=user)
        )
    return user


def user_update_own(
    *,
    user: User,
    current_password: str | None,
    request: HttpRequest | None = None,
    keep_token: ApiToken | None = None,
    **changes,
) -> User:
    """A user changing their own details. A new email address or password needs the current
    password: a stolen token or an unattended session must not be enough to move the login (and
    with it the password reset) to another mailbox.

    ``request`` lets a wrong current password count towards the login lockout, so this door
    cannot be used to guess the password either. The check runs before, not inside, the
    transaction of the change: a refusal must not roll back the failure it recorded."""
    new_email = changes.get("email")
    email_changes = (
        new_email is not None and User.objects.normalize_email(new_email).lower() != user.email
    )
    if email_changes or changes.get("password"):
        _confirm_current_password(user=user, password=current_password, request=request)
    return user_update(user=user, keep_token=keep_token, **changes)


def _confirm_current_password(*, user: User, password: str | None, request) -> None:
    # authenticate(), not check_password(): the lockout's failure count sees it.
    confirmed = authenticate(request, email=user.email, password=password) if password else None
    if confirmed is None or confirmed.pk != user.pk:
        raise InvalidInput(
            {
                "current_password": [
                    "Give your current password to change your email address or password."
                ]
            }
        )


def _tell_old_address(*, old_email: str, new_email: str, user: User) -> None:
    send_mail(
        subject="Your HomeGrid login email was changed",
        message=(
            f"Hello {user.get_short_name()},\n\n"
            f"The email address of your HomeGrid login was changed from {old_email} to "
            f"{new_email}. Password resets now go to the new address.\n\n"
            "If you did not make this change, contact us at once: someone else may have access "
            "to your account.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[old_email],
    )


@transaction.atomic
def user_password_set(
    *, user: User, password: str | None, keep_token: ApiToken | None = None
) -> int:
    """Set a user's password (``None``: no password login at all) and revoke every one of
    their API tokens except ``keep_token`` (the token making this very request, if any).
    Returns how many tokens were revoked.

    Every door that changes a password calls this: portal change and reset, the admin's
    password form, the API. Other sessions end by themselves: Django stores a hash of the
    password in each session and logs a session out once it no longer matches; the door that
    made the change keeps its own session with ``update_session_auth_hash``."""
    if password is None:
        user.set_unusable_password()
    else:
        _validate_new_password(password, user)
        user.set_password(password)
    user.save(update_fields=["password"])
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if keep_token is not None:
        tokens = tokens.exclude(pk=keep_token.pk)
    return tokens.update(revoked_at=timezone.now())


def _new_account_number() -> str:
    return "HG" + "".join(secrets.choice("0123456789") for _ in range(8))


@transaction.atomic
def account_create(
    *,
    owner_name: str,
    address: str,
    postcode: str,
    region: str,
    dwelling_type: str,
    users: list[User] = (),
) -> CustomerAccount:
    postcode = _normalised_postcode(postcode)
    for _attempt in range(5):
        account = CustomerAccount(
            account_number=_new_account_number(),
            owner_name=owner_name,
            address=address,
            postcode=postcode,
            area=outward_code(postcode),
            region=region,
            dwelling_type=dwelling_type,
        )
        _full_clean(account)
        try:
            with transaction.atomic():
                account.save()
        except IntegrityError:
            continue
        account.users.set(users)
        return account
    raise RuntimeError("Could not allocate a unique account number.")


@transaction.atomic
def account_update(*, account: CustomerAccount, **changes) -> CustomerAccount:
    users = changes.pop("users", None)
    if "postcode" in changes:
        changes["postcode"] = _normalised_postcode(changes["postcode"])
        changes["area"] = outward_code(changes["postcode"])
    for field, value in changes.items():
        setattr(account, field, value)
    _full_clean(account)
    account.save()
    if users is not None:
        account.users.set(users)
    return account


def _normalised_postcode(postcode: str) -> str:
    try:
        return normalise_postcode(postcode)
    except ValidationError as exc:
        raise InvalidInput({"postcode": exc.messages}) from exc


@dataclass(frozen=True)
class Registration:
    user: User
    account: CustomerAccount


@transaction.atomic
def customer_register(
    *,
    email: str,
    password: str,
    full_name: str,
    address: str,
    postcode: str,
    region: str,
    dwelling_type: str,
) -> Registration:
    """A new customer: the login and the supply account it owns, both or neither."""
    user = user_create(email=email, password=password, full_name=full_name)
    account = account_create(
        owner_name=full_name,
        address=address,
        postcode=postcode,
        region=region,
        dwelling_type=dwelling_type,
        users=[user],
    )
    return Registration(user=user, account=account)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown to the user once; never stored


@transaction.atomic
def token_create(*, user: User, name: str) -> IssuedToken:
    name = name.strip()
    if not name:
        raise InvalidInput({"name": ["Give the token a name, such as the device that uses it."]})
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[: ApiToken.PREFIX_LENGTH], digest=ApiToken.digest_of(key)
    )
    return IssuedToken(token=token, key=key)


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (staff may revoke anyone's). Revoking twice is a no-op."""
    tokens = ApiToken.objects.all() if user.is_staff else user.api_tokens.all()
    token = tokens.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
