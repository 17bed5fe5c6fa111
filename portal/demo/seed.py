"""``demo_seed``: a believable small supplier, made through the apps' public services. Each
part is skipped when it is already there, so running it again (every ``make run``) adds
nothing; the year of history is written once, when the database is new."""

import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import services as account_services
from accounts.models import CustomerAccount, DwellingType, Region, Role, User
from batteries import services as battery_services
from batteries.models import Battery
from billing import services as billing_services
from billing.models import HalfHourRate, RateDirection, Tariff
from charging import services as charging_services
from charging.models import Charger, IdTag
from config.progress import progress
from meters import services as meter_services
from meters.models import Meter
from meters.timeutils import day_bounds

from .profiles import HALF_HOUR, Calendar, Household, half_hours, registers

DEMO_USERS = [
    ("staff@homegrid.local", "switchboard-42", Role.STAFF, "Sam Staff"),
    ("customer@homegrid.local", "solar-panels-42", Role.CUSTOMER, "Casey Customer"),
    ("analyst@homegrid.local", "demand-curve-42", Role.ANALYST, "Ana Analyst"),
]
DEMO_CUSTOMER = "customer@homegrid.local"
DEMO_CHARGER = "DEMO-CP-001"
DEMO_CHARGER_PASSWORD = "demo-charger-secret-42"  # noqa: S105 - the demo charger's Basic auth
DEMO_TAG = "DEMOCARD01"
DEMO_BATTERY_MODEL = "Demo Cell 9.5"  # the simulator plays every battery of this model
HISTORY_MONTHS = 12
# Tariffs start before the oldest history (a little over a year).
HISTORY_DAYS = 400
BATCH = 10_000  # the most one ingest call takes
# The demo customer moved to the agile tariff this many months ago (the bills show the change,
# and the planner prices the battery and the charger by the feed).
CUSTOMER_ON_AGILE_MONTHS = 3

T, S = DwellingType.TERRACED, DwellingType.SEMI_DETACHED
LONDON, NORTH_WEST, SCOTLAND = Region.LONDON, Region.NORTH_WEST, Region.SCOTLAND


def _economy7(name, address, postcode, region, dwelling_type, annual_kwh) -> Household:
    """A home on Economy 7 that heats its water (storage) at night."""
    return Household(
        name, address, postcode, region, dwelling_type, annual_kwh, tariff="e7", night_storage=True
    )


# 16 homes in three regions and two dwelling types: every region and dwelling type holds at
# least ANALYTICS_MIN_GROUP_SIZE (5) homes, so the analyst view shows groups, not suppressions.
HOUSEHOLDS = [
    Household("Casey Customer", "1 Demo Street\nLondon", "N1 9GU", LONDON, T, 3100, 3.6, "flat"),
    Household("Priya Shah", "14 Dalston Lane\nLondon", "E8 1EJ", LONDON, T, 2600),
    _economy7("Tom Okafor", "3 Rye Lane\nLondon", "SE15 4QF", LONDON, S, 3400),
    Household(
        "Mia Novak", "22 Kentish Town Road\nLondon", "NW5 2HB", LONDON, S, 2900, 4.2, "agile"
    ),
    Household("Leo Grant", "9 Brixton Road\nLondon", "SW9 8LF", LONDON, T, 2200),
    _economy7("Ada Byrne", "41 Uxbridge Road\nLondon", "W12 7RJ", LONDON, S, 3800),
    Household("Sam Hughes", "5 Wilmslow Road\nManchester", "M14 5RQ", NORTH_WEST, T, 2700),
    Household("Nora Quinn", "18 Allerton Road\nLiverpool", "L17 3AA", NORTH_WEST, S, 3300, 3.0),
    _economy7("Raj Patel", "2 Bridge Street\nWarrington", "WA1 1QF", NORTH_WEST, T, 2500),
    Household("Ella Wood", "7 Fishergate\nPreston", "PR1 2HE", NORTH_WEST, S, 3000),
    Household("Owen Price", "12 Eastgate Street\nChester", "CH1 2HU", NORTH_WEST, T, 2100),
    _economy7("Isla Reid", "30 Leith Walk\nEdinburgh", "EH6 6QA", SCOTLAND, T, 3500),
    Household("Finn Murray", "4 Byres Road\nGlasgow", "G12 8QQ", SCOTLAND, S, 3900),
    Household("Ava Ross", "10 Union Street\nAberdeen", "AB10 1XG", SCOTLAND, S, 4200, 2.8, "agile"),
    Household("Jack Muir", "6 Nethergate\nDundee", "DD1 4HN", SCOTLAND, T, 2800),
    Household("Lily Fraser", "15 Academy Street\nInverness", "IV2 3PE", SCOTLAND, S, 3600),
]

TARIFFS = {
    "flat": {
        "name": "HomeGrid Standard",
        "standing_charge_per_day": Decimal("0.5800"),
        "export_rate": Decimal("0.1500"),
        "charging_rate_per_kwh": Decimal("0.2200"),
        "rates": [billing_services.RateIn(band="Standard", unit_rate=Decimal("0.2450"))],
    },
    "e7": {
        "name": "HomeGrid Economy 7",
        "standing_charge_per_day": Decimal("0.6100"),
        "rates": [
            billing_services.RateIn(band="Day", unit_rate=Decimal("0.2980")),
            billing_services.RateIn(
                band="Night",
                unit_rate=Decimal("0.1520"),
                kind="cheap",
                starts_at=time(0, 30),
                ends_at=time(7, 30),
            ),
        ],
    },
    # Priced per half-hour by the feed (``_agile_rates``); export at a flat rate.
    "agile": {
        "name": "HomeGrid Agile",
        "import_dynamic": True,
        "is_public": True,
        "standing_charge_per_day": Decimal("0.4800"),
        "export_rate": Decimal("0.1500"),
        "charging_rate_per_kwh": Decimal("0.2200"),
        "rates": [],
    },
}


@dataclass
class SeedReport:
    """What a run added (all zeros on a database that already has the demo)."""

    users: int = 0
    households: int = 0
    readings: int = 0
    rate_days: int = 0
    bills: int = 0
    devices: list[str] = field(default_factory=list)


def demo_seed(
    *, stream=None, now: datetime | None = None, history_months: int = HISTORY_MONTHS
) -> SeedReport:
    """Seed what is missing; the readings (from the start of the month ``history_months`` ago,
    a year unless a test asks for less) and the bills of those whole months only for homes
    that have no meter yet."""
    now = now or timezone.now()
    report = SeedReport()
    users = _users(report)
    tariffs = _tariffs(first_day=timezone.localdate(now) - timedelta(days=HISTORY_DAYS))
    report.rate_days = _agile_rates(tariffs["agile"], until=timezone.localdate(now) + timedelta(1))
    new_meters = _households(users[DEMO_CUSTOMER], tariffs, report, now=now)
    if new_meters:
        months = _months_back(timezone.localdate(now), history_months)
        _history(new_meters, report, stream=stream, now=now, first_month=months[0])
        _bills(months, report, stream=stream)
    _devices(users[DEMO_CUSTOMER].customer_accounts.order_by("pk").first(), report)
    return report


def _users(report: SeedReport) -> dict[str, User]:
    users = {}
    for email, password, role, name in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = account_services.user_create(
                email=email, password=password, role=role, full_name=name
            )
            report.users += 1
        users[email] = user
    return users


def _tariffs(*, first_day: date) -> dict[str, Tariff]:
    tariffs = {}
    for key, spec in TARIFFS.items():
        fields = {k: v for k, v in spec.items() if k != "rates"}
        tariff = Tariff.objects.filter(name=fields["name"]).first()
        tariffs[key] = tariff or billing_services.tariff_create(
            rates=spec["rates"], valid_from=first_day, **fields
        )
    return tariffs


def _agile_rates(tariff: Tariff, *, until: date) -> int:
    """The feed's half-hourly import rates of every day from the tariff's start to ``until``
    (tomorrow: prices are published a day ahead) that has none yet; the days added."""
    last = HalfHourRate.objects.filter(tariff=tariff, direction=RateDirection.IMPORT).aggregate(
        last=Max("valid_from")
    )["last"]
    first = tariff.valid_from if last is None else timezone.localdate(last) + timedelta(days=1)
    days = {}
    zone = timezone.get_default_timezone()
    for offset in range((until - first).days + 1):
        day = first + timedelta(days=offset)
        start, end = day_bounds(day, zone)
        slots = int((end - start) / timedelta(minutes=30))
        days[day] = [
            {"valid_from": start + k * timedelta(minutes=30), "value_exc_vat": value}
            for k, value in enumerate(_agile_day(day, start, slots, zone))
        ]
    if days:
        billing_services.unit_rates_set_days(
            tariff=tariff, direction=RateDirection.IMPORT, days=days
        )
    return len(days)


def _agile_day(day: date, start: datetime, slots: int, zone) -> list[str]:
    """A day of agile-style prices (per kWh before VAT): cheap at night, a morning bump, dear
    from 16:00 to 19:00, dearer in winter, and now and then a windy night below zero. The same
    day always gets the same prices, whenever it is seeded."""
    rng = np.random.default_rng(day.toordinal())
    locals_ = [(start + k * timedelta(minutes=30)).astimezone(zone) for k in range(slots)]
    hours = np.array([local.hour + local.minute / 60 for local in locals_])
    winter = 1 + 0.25 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 15) / 365)
    base = 0.17 * winter * rng.lognormal(0, 0.12)
    shape = (
        0.55
        + 0.35 * np.exp(-(((hours - 8) / 1.5) ** 2))
        + 1.1 * ((hours >= 16) & (hours < 19))
        + 0.25 * np.exp(-(((hours - 13) / 4) ** 2))
    )
    prices = base * shape * rng.uniform(0.92, 1.08, slots)
    if rng.random() < 0.08:  # a windy night
        prices = np.where(hours < 5, rng.uniform(-0.06, 0.0, slots), prices)
    return [f"{value:.4f}" for value in np.clip(prices, -0.5, 1.0)]


@transaction.atomic
def _households(
    customer: User, tariffs, report: SeedReport, *, now
) -> list[tuple[Meter, Household]]:
    """Each home's account (the first is the demo customer's own), tariff and interval meter."""
    created = []
    first_day = timezone.localdate(now) - timedelta(days=HISTORY_DAYS)
    for number, home in enumerate(HOUSEHOLDS, start=1):
        meter_id = f"DEMO-HH-{number:02d}"
        if Meter.objects.filter(meter_id=meter_id).exists():
            continue
        account = customer.customer_accounts.first() if number == 1 else None
        if account is None:
            account = account_services.account_create(
                owner_name=home.name,
                address=home.address,
                postcode=home.postcode,
                region=home.region,
                dwelling_type=home.dwelling_type,
                users=[customer] if number == 1 else [],
            )
        billing_services.tariff_assign(
            account=account, tariff=tariffs[home.tariff], starts_on=first_day
        )
        if number == 1:
            switched = timezone.localdate(now).replace(day=1)
            for _ in range(CUSTOMER_ON_AGILE_MONTHS):
                switched = (switched - timedelta(days=1)).replace(day=1)
            billing_services.tariff_assign(
                account=account, tariff=tariffs["agile"], starts_on=switched
            )
        created.append((meter_services.meter_create(meter_id=meter_id, account=account), home))
        report.households += 1
    return created


def _history(
    meters: list[tuple[Meter, Household]], report: SeedReport, *, stream, now, first_month: date
) -> None:
    """Half-hourly registers per home from local midnight of ``first_month`` to now, written in
    batches through the one ingest (COPY on PostgreSQL, one executemany on SQLite)."""
    zone = timezone.get_default_timezone()
    end = now.replace(minute=30 if now.minute >= 30 else 0, second=0, microsecond=0)
    # From the reading at midnight itself: the first month's opening read.
    times = half_hours(day_bounds(first_month, zone)[0] - HALF_HOUR, end)
    calendar = Calendar.of(times, zone)
    with progress(
        total=len(times) * len(meters), desc="demo readings", unit="readings", stream=stream
    ) as bar:
        for meter, home in meters:
            imported, exported = registers(home, calendar, seed=zlib.crc32(meter.meter_id.encode()))
            items = [
                meter_services.ReadingIn(
                    meter_id=meter.meter_id,
                    at=at,
                    import_kwh=imp,
                    export_kwh=exp if home.solar_kwp else None,
                )
                for at, imp, exp in zip(times, imported, exported, strict=True)
            ]
            for offset in range(0, len(items), BATCH):
                chunk = items[offset : offset + BATCH]
                meter_services.reading_ingest_bulk(items=chunk, source="import")
                bar.update(len(chunk))
            report.readings += len(items)


def _months_back(today: date, count: int) -> list[date]:
    """The first days of the ``count`` whole months before today's, oldest first."""
    months, month = [], today.replace(day=1)
    for _ in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
        months.insert(0, month)
    return months


def _bills(months: list[date], report: SeedReport, *, stream) -> None:
    """Each month's bills, issued (their PDFs are drawn when opened)."""
    with progress(total=len(months), desc="demo bills", unit="months", stream=stream) as bar:
        for first in months:
            _run, summary = billing_services.bills_generate(month=first, issue=True, trigger="demo")
            report.bills += summary.created
            bar.update(1)


def _devices(account: CustomerAccount | None, report: SeedReport) -> None:
    """The demo customer's battery and charger (and charging card), for the simulators."""
    if account is None:
        return
    if not Battery.objects.filter(account=account).exists():
        battery = battery_services.battery_create(
            account=account,
            location="Garage",
            postcode=account.postcode,
            capacity_kwh=Decimal("9.50"),
            vendor="HomeGrid",
            model=DEMO_BATTERY_MODEL,
        )
        report.devices.append(battery.identifier)
    if not Charger.objects.filter(charge_point_id=DEMO_CHARGER).exists():
        charging_services.charger_register(
            charge_point_id=DEMO_CHARGER, password=DEMO_CHARGER_PASSWORD, account=account
        )
        report.devices.append(DEMO_CHARGER)
    if not IdTag.objects.filter(id_tag__iexact=DEMO_TAG).exists():
        charging_services.id_tag_create(id_tag=DEMO_TAG, account=account)
