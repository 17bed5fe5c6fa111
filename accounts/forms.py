from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html

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


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What will use it, e.g. 'Home Assistant' or 'meter gateway'.",
    )
