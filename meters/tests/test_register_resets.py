"""Register resets are per register (issue 14 §3): an export register that goes down while import
rises flags only the export register, and the interval's import counts. ``register_reset`` is the
import register's flag (the API's field since the start), ``export_register_reset`` the export's;
see meters.models.Reading."""

import csv
import gzip
import hashlib
import importlib
import io
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from billing import services as billing_services
from billing.models import LineKind
from billing.tests.factories import TariffAssignmentFactory, TariffFactory, economy7_tariff
from meters import archives, selectors, services
from meters.models import DailyUsage, Reading
from meters.services import ReadingIn
from meters.telemetry import services as telemetry_services
from meters.telemetry.services import Message
from meters.telemetry.tests.factories import DeviceFactory
from meters.timeutils import interval_day

from .factories import MeterFactory, ReadingFactory

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=30)
T2 = T1 + timedelta(minutes=30)


def _usage(meter) -> tuple[Decimal, Decimal | None]:
    """The meter's roll-ups summed over all days: (import kWh, export kWh or None)."""
    rows = list(DailyUsage.objects.filter(meter=meter).values_list("import_kwh", "export_kwh"))
    exported = [kwh for _, kwh in rows if kwh is not None]
    return sum((kwh for kwh, _ in rows), Decimal(0)), sum(exported) if exported else None


def _flags(meter) -> list[tuple]:
    return list(
        meter.readings.order_by("at").values_list(
            "import_kwh", "export_kwh", "register_reset", "export_register_reset"
        )
    )


# --- The case through every door -------------------------------------------------------


def test_it_counts_the_import_of_an_interval_whose_export_register_was_reset(api, staff):
    meter = MeterFactory()
    client = api.as_user(staff)
    url = f"/api/v1/meters/{meter.meter_id}/readings"
    first = client.post(url, {"at": T0.isoformat(), "import_kwh": "5", "export_kwh": "10"})
    assert first.status_code == 201, first.data
    second = client.post(
        url,
        {
            "at": T1.isoformat(),
            "import_kwh": "6",
            "export_kwh": "9",
            "export_register_reset": True,
        },
        format="json",
    )
    assert second.status_code == 201, second.data
    assert (second.data["register_reset"], second.data["export_register_reset"]) == (False, True)
    assert _flags(meter)[1] == (Decimal(6), Decimal(9), False, True)
    # The import's 1 kWh counts; the export's interval is unknown and counts nothing.
    assert _usage(meter) == (Decimal("1.0000"), Decimal("0.0000"))
    consumption = client.get(
        f"/api/v1/meters/{meter.meter_id}/consumption",
        {"from": T0.isoformat(), "to": T1.isoformat()},
    )
    assert consumption.data["consumption_kwh"] == "1.0000"
    series = selectors.interval_series(meter=meter, period_from=T0, period_to=T2)
    assert [row["consumption"] for row in series] == [Decimal(1)]


def test_it_refuses_an_export_register_going_down_naming_its_own_flag(api, staff):
    meter = MeterFactory()
    services.reading_record(meter=meter, at=T0, import_kwh=5, export_kwh=10, source="api")
    client = api.as_user(staff)
    url = f"/api/v1/meters/{meter.meter_id}/readings"
    refused = client.post(url, {"at": T1.isoformat(), "import_kwh": "6", "export_kwh": "9"})
    assert refused.status_code == 400
    assert "export_register_reset" in str(refused.data) and "export_kwh" in str(refused.data)
    # A reset of the import register alone says nothing about the export one.
    import_only = client.post(
        url,
        {
            "at": T1.isoformat(),
            "import_kwh": "6",
            "export_kwh": "9",
            "register_reset": True,
            "export_register_reset": False,
        },
        format="json",
    )
    assert import_only.status_code == 400
    assert meter.readings.count() == 1


def test_it_refuses_an_export_reset_on_a_reading_without_an_export_register(api, staff):
    meter = MeterFactory()
    answer = api.as_user(staff).post(
        f"/api/v1/meters/{meter.meter_id}/readings",
        {"at": T0.isoformat(), "import_kwh": "6", "export_register_reset": True},
        format="json",
    )
    assert answer.status_code == 400
    assert "export_register_reset" in str(answer.data)
    assert not meter.readings.exists()


def test_it_takes_register_reset_alone_as_a_meter_exchange_of_both_registers(api, staff):
    """A client that knows only the one flag keeps its meaning: both registers start again."""
    meter = MeterFactory()
    services.reading_record(meter=meter, at=T0, import_kwh=500, export_kwh=300, source="api")
    exchange = api.as_user(staff).post(
        f"/api/v1/meters/{meter.meter_id}/readings",
        {"at": T1.isoformat(), "import_kwh": "1", "export_kwh": "2", "register_reset": True},
        format="json",
    )
    assert exchange.status_code == 201, exchange.data
    assert _flags(meter)[1] == (Decimal(1), Decimal(2), True, True)
    assert _usage(meter) == (Decimal(0), Decimal(0))


def test_it_counts_the_import_across_an_export_reset_in_a_bulk_request(api, staff):
    a, b = MeterFactory(), MeterFactory()
    readings = [
        {"meter_id": a.meter_id, "at": T0.isoformat(), "import_kwh": "5", "export_kwh": "10"},
        {
            "meter_id": a.meter_id,
            "at": T1.isoformat(),
            "import_kwh": "6",
            "export_kwh": "9",
            "export_register_reset": True,
        },
        {"meter_id": a.meter_id, "at": T2.isoformat(), "import_kwh": "7.5", "export_kwh": "9.25"},
        # The other way round on another meter: import reset, export rising.
        {"meter_id": b.meter_id, "at": T0.isoformat(), "import_kwh": "40", "export_kwh": "3"},
        {
            "meter_id": b.meter_id,
            "at": T1.isoformat(),
            "import_kwh": "0.5",
            "export_kwh": "3.5",
            "register_reset": True,
            "export_register_reset": False,
        },
    ]
    answer = api.as_user(staff).post("/api/v1/readings/bulk", {"readings": readings}, format="json")
    assert answer.status_code == 200, answer.data
    assert answer.data["accepted"] == 5, answer.data
    assert [flags[2:] for flags in _flags(a)] == [(False, False), (False, True), (False, False)]
    assert _usage(a) == (Decimal("2.5000"), Decimal("0.2500"))
    assert [flags[2:] for flags in _flags(b)] == [(False, False), (True, False)]
    assert _usage(b) == (Decimal("0.0000"), Decimal("0.5000"))
    exported = api.as_user(staff).get(
        f"/api/v1/meters/{a.meter_id}/export.csv",
        {"start": T0.isoformat(), "end": (T2 + timedelta(minutes=1)).isoformat()},
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [row["export_register_reset"] for row in rows] == ["false", "true", "false"]
    assert [row["register_reset"] for row in rows] == ["false", "false", "false"]


def _sensor(device, at: datetime, total_in, total_out, received_at: datetime) -> Message:
    local = at.astimezone(timezone.get_default_timezone()).strftime("%Y-%m-%dT%H:%M:%S")
    payload = (
        f'{{"Time":"{local}","MT681":{{"Total_in":{total_in},"Power_cur":100,'
        f'"Total_out":{total_out}}}}}'
    )
    return Message(topic=f"tele/{device}/SENSOR", payload=payload.encode(), received_at=received_at)


def test_it_infers_a_reset_of_only_the_register_that_went_down_from_mqtt():
    device = DeviceFactory()
    now = timezone.now().replace(microsecond=0)
    report = telemetry_services.messages_store(
        messages=[
            _sensor(device, now - timedelta(seconds=30), 5, 10, now),
            _sensor(device, now - timedelta(seconds=20), 6, 9, now),  # export went down
            _sensor(device, now - timedelta(seconds=10), 2, 9.5, now),  # import went down
        ]
    )
    assert report.outcomes == ["stored", "stored", "stored"]
    # Import: 1 kWh before its reset; export: 0.5 kWh after its own.
    assert _usage(device.meter) == (Decimal("1.0000"), Decimal("0.5000"))
    assert [flags[2:] for flags in _flags(device.meter)] == [
        (False, False),
        (False, True),
        (True, False),
    ]


# --- Roll-ups ----------------------------------------------------------------------------------


def _recomputed(meter) -> dict[date, tuple[Decimal, Decimal | None, bool]]:
    """Each day's (import, export, has a reset) worked out from the stored readings, as the
    model's docstring says: a register counts no energy for an interval that ends in its own
    reset, and the other register's energy of that interval counts."""
    days: dict[date, list] = {}
    previous = None
    for reading in meter.readings.order_by("at"):
        if previous is not None:
            day = days.setdefault(interval_day(reading.at, meter.tz), [Decimal(0), None, False])
            if not reading.register_reset:
                day[0] += reading.import_kwh - previous.import_kwh
            if reading.export_kwh is not None and previous.export_kwh is not None:
                delta = reading.export_kwh - previous.export_kwh
                day[1] = (day[1] or Decimal(0)) + (0 if reading.export_register_reset else delta)
            day[2] = day[2] or reading.register_reset or reading.export_register_reset
        previous = reading
    return {day: tuple(values) for day, values in days.items()}


def _stored(meter) -> dict[date, tuple[Decimal, Decimal | None, bool]]:
    return {
        row.day: (row.import_kwh, row.export_kwh, row.has_gap)
        for row in DailyUsage.objects.filter(meter=meter)
    }


def _two_days_of_resets(meter) -> list[ReadingIn]:
    """Half-hourly readings over two local days: export resets, import resets, a meter exchange
    (both) and ordinary intervals."""
    start = datetime(2026, 3, 3, tzinfo=LONDON).astimezone(UTC)
    items, imported, exported = [], Decimal(100), Decimal(50)
    for n in range(97):
        flags = {}
        if n % 17 == 5:
            exported, flags = Decimal(n % 3), {"export_register_reset": True}
        elif n % 23 == 7:
            flags = {"register_reset": True, "export_register_reset": False}
            imported = Decimal(n % 4)
        elif n == 60:
            imported, exported, flags = Decimal(0), Decimal(0), {"register_reset": True}
        else:
            imported += Decimal("0.25") + Decimal(n % 5) / 10
            exported += Decimal(n % 3) / 20
        items.append(
            ReadingIn(
                meter_id=meter.meter_id,
                at=start + timedelta(minutes=30 * n),
                import_kwh=imported,
                export_kwh=exported,
                **flags,
            )
        )
    return items


def test_it_keeps_every_roll_up_equal_to_the_sum_recomputed_from_the_readings():
    appended, backfilled = MeterFactory(), MeterFactory()
    items = _two_days_of_resets(appended)
    # Appended in batches (the incremental path, from each day's stored totals)...
    for offset in range(0, len(items), 10):
        results = services.reading_ingest_bulk(items=items[offset : offset + 10], source="api")
        assert {result.status for result in results} == {"accepted"}, results
    # ... and the same readings out of order: each part lands before or between stored ones
    # (the days it touches are recomputed from the stored readings).
    mine = _two_days_of_resets(backfilled)
    for part in (mine[60:], mine[:30], mine[30:60]):
        results = services.reading_ingest_bulk(items=part, source="api")
        assert {result.status for result in results} == {"accepted"}, results

    for meter in (appended, backfilled):
        expected = _recomputed(meter)
        assert len(expected) == 2 and any(values[2] for values in expected.values())
        assert _stored(meter) == expected
        services.daily_usage_refresh(meter=meter, days=set(expected))
        assert _stored(meter) == expected
    assert _stored(appended) == _stored(backfilled)


# --- Bills -------------------------------------------------------------------------------------


def _local(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=LONDON)


@pytest.mark.parametrize("tariff", ["flat", "time_of_use"])
def test_it_bills_the_import_of_an_interval_whose_export_register_was_reset(customer, tariff):
    account = customer.customer_accounts.get()
    meter = MeterFactory(account=account)
    plan = TariffFactory if tariff == "flat" else economy7_tariff
    TariffAssignmentFactory(account=account, tariff=plan(export_rate=Decimal("0.10")))
    items = []
    for n in range(31):  # every local midnight, 1 September to 1 October
        exported = Decimal(2) * n if n < 14 else Decimal(2) * (n - 14)  # reset on the 15th
        items.append(
            ReadingIn(
                meter_id=meter.meter_id,
                at=_local(date(2026, 9, 1) + timedelta(days=n)),
                import_kwh=1000 + 10 * n,
                export_kwh=exported,
                export_register_reset=n == 14,
            )
        )
    results = services.reading_ingest_bulk(items=items, source="api")
    assert {result.status for result in results} == {"accepted"}, results

    bill, _ = billing_services.bill_generate_for_month(account=account, month="2026-09")

    read = bill.reads.get()
    assert read.consumption_kwh == Decimal("300.0000")  # every day's import, the 15th's too
    assert read.register_resets == 1
    [credit] = bill.lines.filter(kind=LineKind.EXPORT)
    assert credit.quantity == Decimal("58.0000")  # 30 days of 2 kWh less the reset interval's


# --- Archives ----------------------------------------------------------------------------------


@pytest.fixture
def archive_dir(tmp_path, settings):
    settings.ARCHIVE_DIR = tmp_path / "archive"
    return settings.ARCHIVE_DIR


ARCHIVED_DAY = date(2026, 3, 3)


def _snapshot():
    fields = ["meter_id", "at", "import_kwh", "export_kwh", "register_reset"]
    readings = Reading.objects.order_by("meter_id", "at").values(*fields, "export_register_reset")
    usage = DailyUsage.objects.order_by("meter_id", "day")
    return list(readings), list(usage.values("day", "import_kwh", "export_kwh", "has_gap"))


def test_it_archives_and_restores_each_registers_reset(archive_dir):
    meter = MeterFactory()
    services.reading_ingest_bulk(items=_two_days_of_resets(meter), source="api")
    before = _snapshot()
    assert {(r["register_reset"], r["export_register_reset"]) for r in before[0]} == {
        (False, False),
        (True, False),
        (False, True),
        (True, True),
    }
    archive = archives.archive_write(kind="monthly", period_start=ARCHIVED_DAY)
    Reading.objects.all().delete()
    DailyUsage.objects.all().delete()

    summary = archives.readings_restore(paths=[archive_dir / archive.path])

    assert summary.restored == len(before[0]) and summary.rejected == 0
    assert _snapshot() == before


OLD_COLUMNS = [
    "meter_id",
    "at",
    "import_kwh",
    "export_kwh",
    "power_w",
    "power_l1_w",
    "power_l2_w",
    "power_l3_w",
    "source",
    "quality",
    "register_reset",
    "raw",
]


def _old_row(meter, at, import_kwh, export_kwh, reset) -> list[str]:
    """A row in OLD_COLUMNS' order (no power, raw or export flag)."""
    powers = ["", "", "", ""]
    row = [meter.meter_id, at.isoformat(), import_kwh, export_kwh, *powers]
    return [*row, "api", "actual", reset, ""]


def test_it_restores_an_archive_written_before_resets_were_per_register(archive_dir):
    """Such an archive has one flag for the whole reading: it stands for both registers."""
    meter, importer = MeterFactory(), MeterFactory()
    rows = [
        _old_row(meter, T0, "500.0000", "300.0000", "false"),
        _old_row(meter, T1, "1.0000", "2.0000", "true"),
        _old_row(meter, T2, "1.5000", "2.5000", "false"),
        _old_row(importer, T0, "9.0000", "", "false"),
        _old_row(importer, T1, "1.0000", "", "true"),
    ]
    path = archive_dir / "old" / "2026-01-10.csv.gz"
    path.parent.mkdir(parents=True)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerows([OLD_COLUMNS, *rows])
    path.write_bytes(gzip.compress(text.getvalue().encode()))
    checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    archives.manifest_path(path).write_text(f"{checksum}  {path.name}\n")

    summary = archives.readings_restore(paths=[path])

    assert (summary.restored, summary.rejected) == (5, 0), summary.problems
    assert [flags[2:] for flags in _flags(meter)] == [(False, False), (True, True), (False, False)]
    assert _usage(meter) == (Decimal("0.5000"), Decimal("0.5000"))
    assert [flags[2:] for flags in _flags(importer)] == [(False, False), (True, False)]


# --- Migration ---------------------------------------------------------------------------------


def test_the_migration_keeps_the_meaning_of_resets_stored_before_it():
    """Stored before migration 0005, a reset counted no energy on either register."""
    migration = importlib.import_module("meters.migrations.0005_reading_export_register_reset")
    meter = MeterFactory()
    exchange = ReadingFactory(meter=meter, export_kwh=Decimal(1), register_reset=True)
    import_only = ReadingFactory(meter=meter, export_kwh=None, register_reset=True)
    ordinary = ReadingFactory(meter=meter, export_kwh=Decimal(2))

    migration.flag_export_of_old_resets(apps, None)

    exchange.refresh_from_db(), import_only.refresh_from_db(), ordinary.refresh_from_db()
    assert (exchange.register_reset, exchange.export_register_reset) == (True, True)
    assert (import_only.register_reset, import_only.export_register_reset) == (True, False)
    assert (ordinary.register_reset, ordinary.export_register_reset) == (False, False)
