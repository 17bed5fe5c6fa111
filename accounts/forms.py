from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.password_validation import password_validators_help_text_html

from . import login_guard, services
from .models import DwellingType, Region
from .postcodes import normalise_postcode


class RegistrationForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)
    email = forms.EmailField(label="Email address")
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    address = forms.CharField(label="Supply address", widget=forms.Textarea(attrs={"rows": 3}))
    postcode = forms.CharField(label="Postcode", max_length=12)
    region = forms.ChoiceField(label="Region", choices=Region.choices)
    dwelling_type = forms.ChoiceField(label="Type of home", choices=DwellingType.choices)

    def clean_postcode(self) -> str:
        return normalise_postcode(self.cleaned_data["postcode"])


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150, required=False)
    email = forms.EmailField(label="Email address")
    current_password = forms.CharField(
        label="Current password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Needed only to change your email address.",
    )


class _PasswordSavedByService:
    """Django's password forms, saving through ``user_password_set`` so that every door that
    sets a password also revokes the user's API tokens."""

    def set_password_and_save(self, user, password_field_name="password1", commit=True, **_):  # noqa: S107
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data[password_field_name] if usable else None
        services.user_password_set(user=user, password=password)
        return user


class PasswordChangeForm(_PasswordSavedByService, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(_PasswordSavedByService, auth_forms.SetPasswordForm):
    pass


class AdminPasswordChangeForm(_PasswordSavedByService, auth_forms.AdminPasswordChangeForm):
    pass


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What will use it, e.g. 'Home Assistant' or 'meter gateway'.",
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form (which mails only addresses that have an account, and answers the
    same either way), sending nothing once the address or the client is over its limit."""

    def save(self, *, request, **kwargs):
        if login_guard.password_reset_mail_allowed(
            email=self.cleaned_data["email"], request=request
        ):
            super().save(request=request, **kwargs)
