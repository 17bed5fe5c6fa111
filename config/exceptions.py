"""Errors a service raises when a rule refuses the request.

Services know nothing of HTTP; the API's exception handler (config.api) turns these into DRF's
error shape with the status code each one names. Portal views show ``message``; forms show an
``InvalidInput``'s messages on their fields (``form_errors``).
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

# The API's name for errors of no one field (DRF's); Django's forms call it NON_FIELD_ERRORS.
NON_FIELD = "non_field_errors"


class ApplicationError(Exception):
    """A request that breaks a business rule. ``field`` names the input the rule is about."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class NotFound(ApplicationError):
    status_code = 404


class Conflict(ApplicationError):
    """The request contradicts what is already stored (e.g. the same reading with another value)."""

    status_code = 409


class ServiceUnavailable(ApplicationError):
    """Reception is paused; the client should retry after ``retry_after`` seconds."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: int = 60, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidInput(ApplicationError):
    """Values the rules refuse, naming every field that breaks one (``errors``: field ->
    messages; a password can break several rules at once), so one answer tells a client or an
    operator all that is wrong. The API answers it as it answers any invalid input: 400,
    ``{"detail": "<first field>: <its first rule>", "fields": errors}``."""

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
