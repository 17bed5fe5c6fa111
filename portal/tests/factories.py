"""Seeding meters with readings for the dashboards' tests and benchmark, through the meters
app's ingest service so the daily roll-ups are right."""

from datetime import datetime, timedelta
from decimal import Decimal

from meters import services
from meters.tests.factories import MeterFactory

BATCH = 10_000


def half_hour_floor(at: datetime) -> datetime:
    return at.replace(minute=30 if at.minute >= 30 else 0, second=0, microsecond=0)


def usage_kwh(index: int, step_seconds: int) -> Decimal:
    """A deterministic day-shaped load: more in the evening, never negative."""
    hour = (index * step_seconds // 3600) % 24
    watts = 300 + (1500 if 17 <= hour < 21 else 0) + (index % 7) * 20
    return (Decimal(watts) * step_seconds / Decimal(3_600_000)).quantize(Decimal("0.0001"))


def seed_readings(
    meter,
    *,
    end: datetime,
    count: int,
    step: timedelta = timedelta(minutes=30),
    start_kwh: Decimal = Decimal("1000"),
    with_power: bool = False,
    scale=None,
) -> list[services.ReadingIn]:
    """``count`` readings of ``meter`` every ``step`` up to and including ``end``; ``scale(at)``
    multiplies the energy of the interval ending at ``at`` (to make an unusual day)."""
    seconds = int(step.total_seconds())
    first = end - step * (count - 1)
    items, value = [], start_kwh
    for index in range(count):
        at = first + step * index
        used = usage_kwh(index, seconds) * Decimal(scale(at) if scale else 1)
        value += used
        items.append(
            services.ReadingIn(
                meter_id=meter.meter_id,
                at=at,
                import_kwh=value,
                power_w=float(used * 3_600_000 / seconds) if with_power else None,
            )
        )
    for offset in range(0, len(items), BATCH):
        services.reading_ingest_bulk(items=items[offset : offset + BATCH], source="import")
    return items


def meter_with_readings(*, account, days: int, now: datetime, scale=None, **kwargs):
    meter = MeterFactory(account=account, **kwargs)
    seed_readings(meter, end=half_hour_floor(now), count=days * 48 + 1, scale=scale)
    return meter
