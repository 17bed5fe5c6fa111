from django.db.models import Count, QuerySet

from .models import ApiToken, CustomerAccount, Role, User
from .permissions import scope_to_user


def accounts_for_user(*, user: User) -> QuerySet[CustomerAccount]:
    return scope_to_user(CustomerAccount.objects.all(), user, account_path="")


def tokens_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user) if user.is_authenticated else ApiToken.objects.none()


def account_counts() -> dict:
    roles = dict(User.objects.values_list("role").annotate(n=Count("id")).order_by())
    return {
        "users": {role: roles.get(role, 0) for role in Role.values},
        "customer_accounts": CustomerAccount.objects.count(),
        "active_api_tokens": ApiToken.objects.filter(revoked_at__isnull=True).count(),
    }
