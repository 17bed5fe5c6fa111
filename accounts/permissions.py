"""Who may do what, for every app's API and pages.

Roles live on ``User.role``. Views pick a permission class here; selectors scope querysets with
``scope_to_user`` so a customer only ever sees what belongs to one of their accounts.
"""

from django.db.models import QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import User


def _authenticated(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class IsStaff(BasePermission):
    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and request.user.is_staff


class IsAnalyst(BasePermission):
    """Analysts and staff: aggregated data without personal details."""

    message = "Analysts and staff only."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and (request.user.is_analyst or request.user.is_staff)


class IsCustomerOrStaff(BasePermission):
    """Customers (for their own records, scoped by the selector) and staff."""

    message = "Customers and staff only."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and (request.user.is_customer or request.user.is_staff)


class CustomersReadStaffWrite(BasePermission):
    """Reads for customers (their own records, scoped by the selector) and staff; writes for
    staff only."""

    def has_permission(self, request, view) -> bool:
        rule = IsCustomerOrStaff() if request.method in SAFE_METHODS else IsStaff()
        self.message = rule.message
        return rule.has_permission(request, view)


def scope_to_user(queryset: QuerySet, user: User, account_path: str = "account") -> QuerySet:
    """Staff: everything. Customers: rows whose ``account_path`` is one of their accounts
    (``""`` when the queryset is of CustomerAccount itself).

    Anyone else (analysts, anonymous) gets nothing: they see aggregates through their own
    selectors, never rows.
    """
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_staff:
        return queryset
    if user.is_customer:
        users_path = f"{account_path}__users" if account_path else "users"
        return queryset.filter(**{users_path: user}).distinct()
    return queryset.none()
