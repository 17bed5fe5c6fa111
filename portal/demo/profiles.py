"""Half-hourly energy shaped like real homes, for the demo's year of history: a base load, a
morning and an evening peak (later and flatter at weekends), more in winter, day-to-day noise,
and rooftop solar that follows the sun and the season. Deterministic for a seed."""

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HALF_HOUR = timedelta(minutes=30)


@dataclass(frozen=True)
class Household:
    """One demo home: where it is, what it is, and how it uses energy."""

    name: str
    address: str
    postcode: str
    region: str
    dwelling_type: str
    annual_kwh: float  # consumption in a year (before solar)
    solar_kwp: float = 0.0  # rooftop PV peak power, 0 for none
    tariff: str = "flat"  # key of portal.demo.seed.TARIFFS
    night_storage: bool = False  # heats water at night (an Economy 7 home)


def _day_shape(hour: float, weekend: bool, night_storage: bool) -> float:
    """Relative demand at a local hour; the mean over a day is about 1."""
    shift = 1.0 if weekend else 0.0
    morning = 1.1 * math.exp(-(((hour - 7.5 - shift) / (1.0 + shift / 2)) ** 2))
    evening = 1.9 * math.exp(-(((hour - 18.5) / 1.7) ** 2))
    daytime = (0.35 if weekend else 0.15) * math.exp(-(((hour - 13) / 3.0) ** 2))
    night = 1.4 if night_storage and (hour < 7 or hour >= 23.5) else 0.0
    return 0.45 + morning + evening + daytime + night


def _season(day_of_year: int) -> float:
    """Winter uses about 40 % more than summer (lighting, heating pumps, cooking)."""
    return 1.0 + 0.2 * math.cos(2 * math.pi * (day_of_year - 15) / 365)


def _solar_kw(kwp: float, hour: float, day_of_year: int, cloud: float) -> float:
    """PV output: a sine between sunrise and sunset, longer and higher days in summer."""
    summer = math.cos(2 * math.pi * (day_of_year - 172) / 365)  # 1 at midsummer, -1 midwinter
    length = 12 + 4.5 * summer  # hours of daylight
    sunrise = 12.5 - length / 2
    if not sunrise < hour < sunrise + length:
        return 0.0
    height = math.sin(math.pi * (hour - sunrise) / length)
    return kwp * height * (0.55 + 0.3 * summer) * cloud


def half_hours(start: datetime, end: datetime) -> list[datetime]:
    """Every half-hour boundary in (start, end], aware UTC: 46, 48 or 50 a local day."""
    times, at = [], start + HALF_HOUR
    while at <= end:
        times.append(at)
        at += HALF_HOUR
    return times


def registers(
    home: Household, times: list[datetime], zone: ZoneInfo, seed: int
) -> list[tuple[datetime, float, float]]:
    """(end of half-hour, import register kWh, export register kWh) at each of ``times``: the
    interval meter's readings. Net of solar within each half-hour, as a meter records it."""
    rng = random.Random(seed)  # noqa: S311 - a demo, not a secret
    per_half_hour = home.annual_kwh / (365 * 48)
    imported, exported = float(rng.randint(2_000, 40_000)), 0.0
    rows, cloud, mood, today = [], 1.0, 1.0, None
    for at in times:
        local = (at - HALF_HOUR).astimezone(zone)
        if local.date() != today:  # weather and habits change by the day
            today = local.date()
            cloud, mood = rng.uniform(0.15, 1.0), rng.lognormvariate(0, 0.18)
        hour = local.hour + local.minute / 60 + 0.25
        day = local.timetuple().tm_yday
        shape = _day_shape(hour, local.weekday() >= 5, home.night_storage)
        used = per_half_hour * shape * _season(day) * mood * rng.uniform(0.75, 1.25)
        solar = _solar_kw(home.solar_kwp, hour, day, cloud) / 2 if home.solar_kwp else 0.0
        net = used - solar
        if net >= 0:
            imported += net
        else:
            exported -= net
        rows.append((at, round(imported, 3), round(exported, 3)))
    return rows
