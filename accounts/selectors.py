from django.db.models import Count, QuerySet

from config.exceptions import NotFound

from .models import ApiToken, CustomerAccount, Role, User
from .permissions import scope_to_user


def accounts_for_user(*, user: User) -> QuerySet[CustomerAccount]:
    return scope_to_user(CustomerAccount.objects.all(), user, account_path="")


def account_for_user(*, user: User, account_number: str) -> CustomerAccount:
    """One of the user's accounts by number; NotFound (404) for anyone else's, so account
    numbers cannot be probed."""
    account = accounts_for_user(user=user).filter(account_number=account_number).first()
    if account is None:
        raise NotFound(f"No account {account_number!r}.")
    return account


def tokens_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user) if user.is_authenticated else ApiToken.objects.none()


def account_counts() -> dict:
    roles = dict(User.objects.values_list("role").annotate(n=Count("id")).order_by())
    return {
        "users": {role: roles.get(role, 0) for role in Role.values},
        "customer_accounts": CustomerAccount.objects.count(),
        "active_api_tokens": ApiToken.objects.filter(revoked_at__isnull=True).count(),
    }
