"""The batteries' refusal of invalid input, in the project's ApplicationError family.

``InvalidInput`` names every field that breaks a rule (``errors``: field -> messages), so one
answer tells a client or an operator all that is wrong. The API answers it as it answers any
invalid input: 400, ``{"detail": "<first field>: <its first rule>", "fields": errors}``; the
admin shows each message on its field (``form_errors``).
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from config.exceptions import ApplicationError

# The API's name for errors of no one field (DRF's); Django's forms call it NON_FIELD_ERRORS.
NON_FIELD = "non_field_errors"


class InvalidInput(ApplicationError):
    def __init__(self, errors: dict[str, list[str]]):
        field, messages = next(iter(errors.items()))
        detail = messages[0] if field == NON_FIELD else f"{field}: {messages[0]}"
        super().__init__(detail, extra={"fields": errors})
        self.errors = errors

    @property
    def messages(self) -> list[str]:
        """Every message, in field order (for a one-line notice)."""
        return [message for messages in self.errors.values() for message in messages]

    @classmethod
    def from_model(cls, exc: ValidationError) -> "InvalidInput":
        """A model's own validation (``full_clean``) in the same shape."""
        return cls(
            {NON_FIELD if k == NON_FIELD_ERRORS else k: v for k, v in exc.message_dict.items()}
        )


def form_errors(exc: InvalidInput) -> ValidationError:
    """The refusal as a form's errors (fields the form lacks become the form's own errors)."""
    return ValidationError(
        {NON_FIELD_ERRORS if k == NON_FIELD else k: v for k, v in exc.errors.items()}
    )
