"""Every write to users, customer accounts and API tokens."""

import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.exceptions import Conflict, NotFound

from .models import ApiToken, CustomerAccount, Role, User
from .postcodes import normalise_postcode, outward_code


def _validate_new_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


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
def user_update(*, user: User, **changes) -> User:
    if "email" in changes:
        email = User.objects.normalize_email(changes["email"]).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise Conflict("A user with this email address already exists.", field="email")
        changes["email"] = email
    password = changes.pop("password", None)
    for field, value in changes.items():
        setattr(user, field, value)
    if password:
        _validate_new_password(password, user)
        user.set_password(password)
    user.save()
    return user


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
        account.full_clean(exclude=["users"])
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
    account.full_clean(exclude=["users"])
    account.save()
    if users is not None:
        account.users.set(users)
    return account


def _normalised_postcode(postcode: str) -> str:
    try:
        return normalise_postcode(postcode)
    except ValidationError as exc:
        raise ValidationError({"postcode": exc.messages}) from exc


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
        raise ValidationError({"name": ["Give the token a name, such as the device that uses it."]})
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
