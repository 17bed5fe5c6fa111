from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from config.admin import KeptRecordAdminMixin

from .forms import AdminPasswordChangeForm
from .models import ApiToken, CustomerAccount, User


class CustomerAccountMembershipInline(admin.TabularInline):
    model = CustomerAccount.users.through
    extra = 0
    verbose_name = "customer account"
    verbose_name_plural = "customer accounts"
    autocomplete_fields = ["customeraccount"]


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # a key is shown once, to its owner, in the portal or the API


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "role"]


class UserChange(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChange
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm  # revokes the user's API tokens
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "date_joined", "last_login"]
    list_filter = ["role", "is_active", "is_superuser"]
    search_fields = ["email", "full_name", "customer_accounts__account_number"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "role"]}),
        ("Access", {"fields": ["is_active", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})
    ]
    filter_horizontal = ["groups"]
    inlines = [CustomerAccountMembershipInline, ApiTokenInline]


@admin.register(CustomerAccount)
class CustomerAccountAdmin(KeptRecordAdminMixin, admin.ModelAdmin):
    instead_of_deleting = (
        "Customer accounts are kept with their meters, bills and sessions. To end a customer's "
        "access, remove their users from the account (or deactivate the users)."
    )
    list_display = ["account_number", "owner_name", "postcode", "area", "region", "dwelling_type"]
    list_filter = ["region", "dwelling_type", "created_at"]
    search_fields = ["account_number", "owner_name", "postcode", "address", "users__email"]
    readonly_fields = ["account_number", "area", "created_at", "updated_at"]
    filter_horizontal = ["users"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "prefix", "user__email"]
    readonly_fields = ["user", "prefix", "digest", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        from . import services

        for token in queryset:
            services.token_revoke(user=request.user, token_id=token.pk)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")
