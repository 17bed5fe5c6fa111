"""Live pushes of the newest reading of each meter to the customer's open portal, and the
readings stored as notifications' events for webhooks."""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache

from accounts import live
from notifications.services import events_publish

from .validation import LockedMeter, _Candidate

# Live updates are for what is happening now: a backfill of old readings pushes nothing.
LIVE_PUSH_WINDOW = timedelta(hours=1)


def _live_reading(meter: LockedMeter, newest: _Candidate) -> dict:
    return {
        "account_id": meter.account_id,
        "meter_id": meter.meter_id,
        "at": newest.at.isoformat(),
        "import_kwh": str(newest.import_kwh),
        "export_kwh": None if newest.export_kwh is None else str(newest.export_kwh),
        "power_w": newest.item.power_w,
    }


def _push_readings(news: list[dict]) -> None:
    """Push the newest reading of each meter, unless that meter was pushed within the last
    LIVE_PUSH_MIN_INTERVAL_SECONDS: a device that publishes faster, or a burst of redelivered
    messages, must not flood browsers (or the ingest's commit path). The mark is shared through
    the cache, so several ingest processes throttle together (two may both push in the same
    interval in a race; never more). Meters whose customer has no portal open cost nothing."""
    audience = live.with_audience(data["account_id"] for data in news)
    keys = {
        f"live:meter:{data['meter_id']}": data for data in news if data["account_id"] in audience
    }
    if not keys:
        return
    recently_pushed = cache.get_many(list(keys))
    due = {key: data for key, data in keys.items() if key not in recently_pushed}
    if not due:
        return
    cache.set_many(dict.fromkeys(due, 1), timeout=settings.LIVE_PUSH_MIN_INTERVAL_SECONDS)
    live.push_many((data.pop("account_id"), "meter.reading", data) for data in due.values())


def readings_announce(per_meter: dict[int, list[_Candidate]], source: str) -> None:
    """``reading_stored`` events for the webhooks that subscribe: one per meter per batch (its
    count, time span and newest registers), so a fleet publishing every 10 s makes one event
    per meter per ingest batch, not per message. Nothing is built unless an endpoint wants it."""
    events_publish(
        kind="reading_stored",
        items=(
            (
                candidates[0].meter.account_id,
                {
                    "meter": candidates[0].meter.meter_id,
                    "source": source,
                    "readings": len(candidates),
                    "first_at": candidates[0].at,
                    "last_at": candidates[-1].at,
                    "import_kwh": candidates[-1].import_kwh,
                    "export_kwh": candidates[-1].export_kwh,
                    "power_w": candidates[-1].item.power_w,
                },
            )
            for candidates in per_meter.values()
        ),
    )
