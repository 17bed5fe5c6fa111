"""Admin forms that create what a charger is asked to hold - reservations (ReserveNow) and
charging profiles (SetChargingProfile) - through ``services.command_create``, the API's door.

The forms only turn typed inputs into the command's payload: every rule is the service's. Its
refusal is checked in a rolled-back savepoint while the form is cleaned, so it shows on the
form. The service names each refused field by its path in the payload it sent (1.6 or, for a
2.0.1 charger, the 2.0.1 form); ``sent`` maps the end of such a path to the input the value
came from, and a path no input gave is shown above the form with its path."""

import re

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import transaction

from config.exceptions import NON_FIELD, ApplicationError, InvalidInput

from . import services
from .models import ChargingProfile, OcppVersion, Reservation


class ConnectorActionForm(ActionForm):
    """The changelist's action bar, with the connector the Unlock action is for."""

    connector_id = forms.IntegerField(
        required=False,
        label="Connector (for Unlock)",
        widget=forms.NumberInput(attrs={"min": 1, "class": "connector-number"}),
    )


class _DryRun(Exception):
    pass


_INDEX = re.compile(r"\[\d+\]")


def _refusals(error: ApplicationError) -> dict[str, list[str]]:
    """The refusal by field path in the payload (``payload.csChargingProfiles.stackLevel``)."""
    if isinstance(error, InvalidInput):
        return error.errors
    return {error.field or NON_FIELD: [error.message]}


class CommandForm(forms.ModelForm):
    """A model form whose save sends ``operation`` through the service instead of saving the
    row; the row is the one the service (or the charger's answer) writes."""

    operation = ""
    # The end of a payload path, without list indices ("idToken.idToken") -> form field.
    sent: dict[str, str] = {}

    def payload(self, data: dict) -> dict:
        raise NotImplementedError

    def command_send(self, *, requested_by):
        data = self.cleaned_data
        return services.command_create(
            charger=data["charger"],
            operation=self.operation,
            payload=self.payload(data),
            requested_by=requested_by,
        )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            with transaction.atomic():
                self.command_send(requested_by=None)
                raise _DryRun
        except _DryRun:
            pass
        except ApplicationError as error:
            for path, messages in _refusals(error).items():
                field = self.field_for(path)
                for message in messages:
                    plain = field or path in (NON_FIELD, "payload")
                    self.add_error(field, message if plain else f"{path}: {message}")
        return data

    def field_for(self, path: str) -> str | None:
        """The input a refused payload path came from: the longest end of the path that
        ``sent`` names (None: the form's own errors)."""
        if path in self.fields:
            return path
        parts = _INDEX.sub("", path).split(".")
        for start in range(1, len(parts)):
            field = self.sent.get(".".join(parts[start:]))
            if field:
                return field
        return None

    def _post_clean(self):
        """No model validation: the service is the one validator, and it writes the row."""


class ReservationForm(CommandForm):
    operation = "ReserveNow"
    sent = {
        "connectorId": "connector_id",
        "evseId": "connector_id",
        "idTag": "id_tag",
        "idToken": "id_tag",
        "idToken.idToken": "id_tag",
        "parentIdTag": "parent_id_tag",
        "groupIdToken": "parent_id_tag",
        "groupIdToken.idToken": "parent_id_tag",
        "expiryDate": "expires_at",
        "expiryDateTime": "expires_at",
    }
    # Plain text fields: the length rule is the service's, so it reads the same in every door.
    id_tag = forms.CharField(label="Id tag", strip=True)
    parent_id_tag = forms.CharField(label="Parent id tag", required=False, strip=True)
    connector_id = forms.IntegerField(help_text="0: any connector of the charger.")

    class Meta:
        model = Reservation
        fields = ["charger", "connector_id", "id_tag", "parent_id_tag", "expires_at"]

    def payload(self, data: dict) -> dict:
        expires = data["expires_at"].isoformat()
        if data["charger"].ocpp_version == OcppVersion.V201:
            payload = {
                "idToken": {"idToken": data["id_tag"], "type": "Central"},
                "expiryDateTime": expires,
            }
            if data["connector_id"]:
                payload["evseId"] = data["connector_id"]
            if data["parent_id_tag"]:
                payload["groupIdToken"] = {"idToken": data["parent_id_tag"], "type": "Central"}
            return payload
        payload = {
            "connectorId": data["connector_id"],
            "idTag": data["id_tag"],
            "expiryDate": expires,
        }
        if data["parent_id_tag"]:
            payload["parentIdTag"] = data["parent_id_tag"]
        return payload


PURPOSES = ["TxDefaultProfile", "ChargePointMaxProfile", "TxProfile"]
KINDS = ["Absolute", "Recurring", "Relative"]


class ChargingProfileForm(CommandForm):
    """One schedule period (a limit from the schedule's start), as OCPP 1.6's
    csChargingProfiles; the service sends a 2.0.1 station its ChargingProfileType."""

    operation = "SetChargingProfile"
    sent = {
        "connectorId": "connector_id",
        "evseId": "connector_id",
        "chargingProfileId": "profile_id",
        "chargingProfile.id": "profile_id",
        "chargingSchedule.id": "profile_id",
        "stackLevel": "stack_level",
        "chargingProfilePurpose": "purpose",
        "transactionId": "purpose",  # a TxProfile's transaction: the purpose chose it
        "chargingProfileKind": "kind",
        "recurrencyKind": "recurrency",
        "chargingRateUnit": "rate_unit",
        "limit": "limit",
        "duration": "duration",
        "startSchedule": "start_schedule",
    }
    connector_id = forms.IntegerField(help_text="0: the charger as a whole.")
    profile_id = forms.IntegerField(label="Profile id")
    stack_level = forms.IntegerField()
    purpose = forms.ChoiceField(choices=[(name, name) for name in PURPOSES])
    kind = forms.ChoiceField(choices=[(name, name) for name in KINDS])
    recurrency = forms.ChoiceField(
        required=False,
        choices=[("", "-"), ("Daily", "Daily"), ("Weekly", "Weekly")],
        help_text="For a Recurring profile.",
    )
    rate_unit = forms.ChoiceField(
        label="Limit unit", choices=[("A", "A (per phase)"), ("W", "W")], initial="A"
    )
    limit = forms.DecimalField(help_text="The most the charger may draw, in the unit above.")
    duration = forms.IntegerField(required=False, help_text="Seconds; blank: open-ended.")
    start_schedule = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, help_text="For an Absolute or Recurring profile."
    )

    class Meta:
        model = ChargingProfile
        fields = ["charger", "connector_id"]

    def payload(self, data: dict) -> dict:
        schedule = {
            "chargingRateUnit": data["rate_unit"],
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": float(data["limit"])}],
        }
        if data["duration"] is not None:
            schedule["duration"] = data["duration"]
        if data["start_schedule"]:
            schedule["startSchedule"] = data["start_schedule"].isoformat()
        profile = {
            "chargingProfileId": data["profile_id"],
            "stackLevel": data["stack_level"],
            "chargingProfilePurpose": data["purpose"],
            "chargingProfileKind": data["kind"],
            "chargingSchedule": schedule,
        }
        if data["recurrency"]:
            profile["recurrencyKind"] = data["recurrency"]
        return {"connectorId": data["connector_id"], "csChargingProfiles": profile}
