"""Half-hourly energy shaped like real homes, for the demo's year of history: a base load, a
morning and an evening peak (later and flatter at weekends), more in winter, day-to-day noise,
and rooftop solar that follows the sun and the season. Deterministic for a seed."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

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


def _day_shape(hour: np.ndarray, weekend: np.ndarray, night_storage: bool) -> np.ndarray:
    """Relative demand at local hours; the mean over a day is about 1."""
    shift = np.where(weekend, 1.0, 0.0)
    morning = 1.1 * np.exp(-(((hour - 7.5 - shift) / (1.0 + shift / 2)) ** 2))
    evening = 1.9 * np.exp(-(((hour - 18.5) / 1.7) ** 2))
    daytime = np.where(weekend, 0.35, 0.15) * np.exp(-(((hour - 13) / 3.0) ** 2))
    night = 1.4 * ((hour < 7) | (hour >= 23.5)) if night_storage else 0.0
    return 0.45 + morning + evening + daytime + night


def _season(day_of_year: np.ndarray) -> np.ndarray:
    """Winter uses about 40 % more than summer (lighting, heating pumps, cooking)."""
    return 1.0 + 0.2 * np.cos(2 * np.pi * (day_of_year - 15) / 365)


def _solar_kw(kwp: float, hour: np.ndarray, day_of_year: np.ndarray, cloud: np.ndarray):
    """PV output: a sine between sunrise and sunset, longer and higher days in summer."""
    summer = np.cos(2 * np.pi * (day_of_year - 172) / 365)  # 1 at midsummer, -1 midwinter
    length = 12 + 4.5 * summer  # hours of daylight
    sunrise = 12.5 - length / 2
    height = np.sin(np.pi * (hour - sunrise) / length)
    daylight = (sunrise < hour) & (hour < sunrise + length)
    return np.where(daylight, kwp * height * (0.55 + 0.3 * summer) * cloud, 0.0)


def half_hours(start: datetime, end: datetime) -> list[datetime]:
    """Every half-hour boundary in (start, end], aware UTC: 46, 48 or 50 a local day."""
    times, at = [], start + HALF_HOUR
    while at <= end:
        times.append(at)
        at += HALF_HOUR
    return times


@dataclass(frozen=True)
class Calendar:
    """The local time of each half-hour's middle, shared by every home of the demo."""

    hour: np.ndarray
    day_of_year: np.ndarray
    weekend: np.ndarray
    day: np.ndarray  # 0, 1, 2 … for each local day

    @classmethod
    def of(cls, times: list[datetime], zone: ZoneInfo) -> "Calendar":
        locals_ = [(at - HALF_HOUR).astimezone(zone) for at in times]
        dates = [local.date() for local in locals_]
        first = dates[0]
        return cls(
            hour=np.array([local.hour + local.minute / 60 + 0.25 for local in locals_]),
            day_of_year=np.array([local.timetuple().tm_yday for local in locals_]),
            weekend=np.array([local.weekday() >= 5 for local in locals_]),
            day=np.array([(date - first).days for date in dates]),
        )


def registers(home: Household, calendar: Calendar, seed: int) -> tuple[list[float], list[float]]:
    """The import and export register (kWh, to the Wh) at the end of each half-hour of
    ``calendar``: the interval meter's readings, net of solar within each half-hour, as a meter
    records it. Weather and habits change by the day."""
    rng = np.random.default_rng(seed)
    days = int(calendar.day[-1]) + 1
    cloud = rng.uniform(0.15, 1.0, days)[calendar.day]
    mood = rng.lognormal(0, 0.18, days)[calendar.day]
    noise = rng.uniform(0.75, 1.25, len(calendar.hour))
    per_half_hour = home.annual_kwh / (365 * 48)
    used = (
        per_half_hour
        * _day_shape(calendar.hour, calendar.weekend, home.night_storage)
        * _season(calendar.day_of_year)
        * mood
        * noise
    )
    solar = _solar_kw(home.solar_kwp, calendar.hour, calendar.day_of_year, cloud) / 2
    net = used - solar
    imported = rng.integers(2_000, 40_000) + np.cumsum(np.maximum(net, 0))
    exported = np.cumsum(np.maximum(-net, 0))
    return np.round(imported, 3).tolist(), np.round(exported, 3).tolist()
