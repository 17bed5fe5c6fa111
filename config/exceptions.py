"""Errors a service raises when a rule refuses the request.

Services know nothing of HTTP; the API's exception handler (config.api) turns these into DRF's
error shape with the status code each one names. Portal views show ``message``.
"""


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
