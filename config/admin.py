"""Shared admin behaviour of HomeGrid's apps."""

from django.contrib import messages
from django.shortcuts import redirect


class KeptRecordAdminMixin:
    """Records other records need (charging sessions, meters, customer accounts) are never
    deleted from the admin: no delete action or button, and the change list says what to do
    instead (``instead_of_deleting``)."""

    instead_of_deleting = ""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {"subtitle": self.instead_of_deleting, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        messages.warning(request, self.instead_of_deleting)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
