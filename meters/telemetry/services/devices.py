"""Device writes that are not a batch's: attachment to a meter, and an LWT's online state."""

import logging
from datetime import datetime

from django.db import transaction

from config.exceptions import ApplicationError
from meters.models import Meter, MeterKind

from ..models import Device, DeviceTransition

log = logging.getLogger("meters.telemetry.services")


def device_set_online(*, device: Device, online: bool, at: datetime) -> None:
    """Record an LWT: the device's online state and, when it changed, a transition."""
    device.refresh_from_db(fields=["online", "online_changed_at", "last_seen"])
    device.last_seen = max(filter(None, [device.last_seen, at]))
    changed = device.online != online
    if changed:
        device.online = online
        device.online_changed_at = at
        DeviceTransition.objects.create(device=device, online=online, at=at)
        log.info("telemetry: device %s is %s", device, "online" if online else "offline")
    device.save(update_fields=["online", "online_changed_at", "last_seen"])


def device_attach_check(*, device: Device, meter: Meter | None) -> None:
    """Raise ApplicationError unless ``device`` may feed ``meter``: a live meter without another
    device."""
    if meter is None:
        return
    if meter.kind != MeterKind.LIVE:
        raise ApplicationError(
            f"Meter {meter} is an interval meter; only live meters take telemetry.",
            field="meter",
        )
    other = Device.objects.filter(meter=meter).exclude(pk=device.pk).first()
    if other is not None:
        raise ApplicationError(
            f"Meter {meter} already has device {other}; detach it first.", field="meter"
        )


@transaction.atomic
def device_attach(*, device: Device, meter: Meter | None) -> Device:
    """Attach a device to a live meter (or detach it with None)."""
    device_attach_check(device=device, meter=meter)
    device.meter = meter
    device.full_clean()
    device.save(update_fields=["meter"])
    log.info("telemetry: device %s attached to meter %s", device, meter)
    return device
