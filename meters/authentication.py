"""Meter (device) keys: ``Authorization: Token mk_…`` authenticates as that one meter.

Listed before the users' token authentication on the meters' views; a key without the ``mk_``
prefix is left to it. The authenticated principal is a ``MeterDevice``, which the selectors scope
to its own meter.

A meter key is a write-only credential: it may submit readings (``READING_DOORS``) and read
nothing, not even its own meter, whose record carries the account's address and postcode, nor
its readings, which are the household's consumption. The rule lives here, in the one class every
meter-key request passes through, so a door added later is closed to meter keys until it is
named below.
"""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import MeterKey

# (HTTP method, URL name) pairs a meter key may use: submitting readings, single or bulk.
READING_DOORS = frozenset({("POST", "meter-readings"), ("POST", "readings-bulk")})


@dataclass(frozen=True)
class MeterDevice:
    """The request's user when a meter key authenticated it."""

    meter_id: int
    key_id: int
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_customer: bool = False
    is_analyst: bool = False

    @property
    def pk(self) -> str:  # throttling counts per meter
        return f"meter-{self.meter_id}"


class MeterKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() not in (b"token", b"bearer"):
            return None
        key = header[1].decode(errors="replace")
        if not key.startswith(MeterKey.KEY_PREFIX):
            return None
        meter_key = MeterKey.objects.filter(
            digest=MeterKey.digest_of(key), revoked_at__isnull=True
        ).first()
        if meter_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked meter key.")
        match = getattr(request, "resolver_match", None)
        if (request.method, match.url_name if match else None) not in READING_DOORS:
            raise exceptions.PermissionDenied(
                "A meter key may only submit readings (POST /api/v1/meters/{meter_id}/readings "
                "or /api/v1/readings/bulk); use a user's token to read."
            )
        return MeterDevice(meter_id=meter_key.meter_id, key_id=meter_key.pk), meter_key

    def authenticate_header(self, request) -> str:
        return "Token"


class MeterKeyScheme(OpenApiAuthenticationExtension):
    target_class = "meters.authentication.MeterKeyAuthentication"
    name = "meterKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token mk_<key>`: a meter's own key (staff create it). Write-only: it may "
                "submit that meter's readings and read nothing."
            ),
        }
