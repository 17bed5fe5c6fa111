"""Registering meters and the keys their devices read with."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import CustomerAccount
from accounts.postcodes import normalise_postcode, outward_code
from config.exceptions import ApplicationError, Conflict
from meters.models import (
    Meter,
    MeterKey,
    MeterKind,
)


@transaction.atomic
def meter_create(
    *,
    meter_id: str,
    account: CustomerAccount,
    kind: str = MeterKind.INTERVAL,
    address: str | None = None,
    postcode: str | None = None,
    timezone_name: str | None = None,
) -> Meter:
    """Register a meter on an account; premises, region and dwelling type default to the
    account's."""
    meter_id = meter_id.strip()
    if not meter_id:
        raise ApplicationError("A meter id is required.", field="meter_id")
    if Meter.objects.filter(meter_id=meter_id).exists():
        raise Conflict(f"Meter {meter_id} is already registered.", field="meter_id")
    postcode = normalise_postcode(postcode) if postcode else account.postcode
    meter = Meter(
        meter_id=meter_id,
        account=account,
        kind=kind,
        address=address or account.address,
        postcode=postcode,
        area=outward_code(postcode),
        region=account.region,
        dwelling_type=account.dwelling_type,
        timezone=timezone_name or settings.TIME_ZONE,
    )
    meter.full_clean()
    meter.save()
    return meter


@dataclass(frozen=True)
class IssuedMeterKey:
    meter_key: MeterKey
    key: str


@transaction.atomic
def meter_key_create(*, meter: Meter, name: str) -> IssuedMeterKey:
    """A new key for the device that reads ``meter``; the key itself is returned only here."""
    name = name.strip()
    if not name:
        raise ApplicationError(
            "Give the key a name, such as the device that uses it.", field="name"
        )
    key = MeterKey.KEY_PREFIX + secrets.token_urlsafe(30)
    meter_key = MeterKey.objects.create(
        meter=meter, name=name, prefix=key[:11], digest=MeterKey.digest_of(key)
    )
    return IssuedMeterKey(meter_key=meter_key, key=key)


@transaction.atomic
def meter_key_revoke(*, meter_key: MeterKey) -> MeterKey:
    if meter_key.revoked_at is None:
        meter_key.revoked_at = timezone.now()
        meter_key.save(update_fields=["revoked_at"])
    return meter_key
