from django import forms

from .models import MAIL_KINDS, EventKind, WebhookEndpoint


class PreferencesForm(forms.Form):
    wanted = forms.MultipleChoiceField(
        label="Email me when",
        required=False,
        choices=[(kind, EventKind(kind).label) for kind in MAIL_KINDS],
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    kinds = forms.MultipleChoiceField(
        choices=EventKind.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "kinds", "active", "secret"]
