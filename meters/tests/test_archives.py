import gzip
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from config.exceptions import ApplicationError
from meters import archives, services, tasks
from meters.models import Archive, DailyUsage, MeterKind, Reading, ReadingDiagnostic
from meters.services import ReadingIn
from meters.timeutils import local_midnight

from .factories import MeterFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 5)


@pytest.fixture(autouse=True)
def archive_dir(tmp_path, settings):
    settings.ARCHIVE_DIR = tmp_path / "archive"
    return settings.ARCHIVE_DIR


def _load(meter, day, count=49, first=Decimal(100), **extra):
    start = local_midnight(day, meter.tz)
    services.reading_ingest_bulk(
        items=[
            ReadingIn(
                meter_id=meter.meter_id,
                at=start + timedelta(minutes=30 * i),
                import_kwh=first + Decimal("0.5") * i,
                **extra,
            )
            for i in range(count)
        ],
        source="api",
    )


def _text(path):
    with gzip.open(path, "rt") as stream:
        return stream.read()


def _snapshot():
    readings = Reading.objects.order_by("meter_id", "at").values(
        "meter_id", "at", "import_kwh", "export_kwh", "power_w", "source", "quality"
    )
    diagnostics = ReadingDiagnostic.objects.order_by("meter_id", "at").values_list(
        "meter_id", "at", "raw"
    )
    return list(readings), list(diagnostics)


def test_it_archives_a_day_with_a_manifest_and_the_same_bytes_twice(archive_dir):
    meter = MeterFactory()
    _load(meter, DAY)
    archive = archives.archive_write(kind="daily", period_start=DAY)
    path = archive_dir / "daily" / "2026-01-05.csv.gz"
    assert archive.rows == 48  # the reading at midnight belongs to the next day
    lines = _text(path).splitlines()
    assert lines[0].startswith("meter_id,at,import_kwh")
    assert lines[1].startswith(f"{meter.meter_id},2026-01-05T00:00:00+00:00,100.0000")
    manifest = (archive_dir / "daily" / "2026-01-05.csv.gz.sha256").read_text()
    assert manifest == f"{archive.sha256}  2026-01-05.csv.gz\n"
    again = archives.archive_write(kind="daily", period_start=DAY)
    assert again.sha256 == archive.sha256 and Archive.objects.count() == 1


def test_it_restores_archived_readings_identically_after_they_were_deleted():
    meter = MeterFactory(kind=MeterKind.LIVE)
    _load(meter, DAY, power_w=120.5, raw={"ENERGY": {"Total": 1}})
    before = _snapshot()
    usage_before = list(DailyUsage.objects.values("day", "import_kwh", "is_partial"))
    archives.archive_write(kind="monthly", period_start=DAY)
    assert len(before[1]) == 49  # each reading's raw, kept beside it (#16)
    Reading.objects.all().delete()
    ReadingDiagnostic.objects.all().delete()
    DailyUsage.objects.all().delete()
    out = StringIO()
    call_command("restore_readings", "2026-01", stdout=out)
    assert _snapshot() == before
    assert list(DailyUsage.objects.values("day", "import_kwh", "is_partial")) == usage_before
    assert "readings restored 49" in out.getvalue()
    again = StringIO()
    call_command("restore_readings", "2026-01", stdout=again)
    assert "readings restored 0, skipped (already stored) 49" in again.getvalue()


def test_it_reports_conflicts_on_restore_and_changes_nothing():
    meter = MeterFactory()
    _load(meter, DAY)
    archives.archive_write(kind="daily", period_start=DAY)
    Reading.objects.filter(meter=meter, at__gt=local_midnight(DAY, meter.tz)).update(
        import_kwh=Decimal(999)
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("restore_readings", "2026-01-05", stdout=out)
    assert "conflicting 47" in out.getvalue()
    assert Reading.objects.filter(import_kwh=999).count() == 48


def test_it_refuses_an_archive_whose_checksum_does_not_match(archive_dir):
    meter = MeterFactory()
    _load(meter, DAY)
    archive = archives.archive_write(kind="daily", period_start=DAY)
    path = archive_dir / archive.path
    data = _text(path).replace("100.5000", "100.6000")
    with gzip.open(path, "wt") as tampered:
        tampered.write(data)
    Reading.objects.all().delete()
    with pytest.raises(CommandError, match="checksum mismatch"):
        call_command("restore_readings", str(path), stdout=StringIO())
    assert not Reading.objects.exists()


def test_it_refuses_to_shrink_an_archive_after_readings_were_pruned():
    meter = MeterFactory()
    _load(meter, DAY)
    archives.archive_write(kind="daily", period_start=DAY)
    Reading.objects.all().delete()
    with pytest.raises(ApplicationError, match="keeping the archive"):
        archives.archive_write(kind="daily", period_start=DAY)
    assert Archive.objects.get().rows == 48


def test_it_imports_a_legacy_csv_with_a_dry_run_first(tmp_path):
    meter = MeterFactory()
    legacy = tmp_path / "legacy.csv"
    legacy.write_text(
        "meter_id,timestamp,reading\n"
        f"{meter.meter_id},2026-01-05T00:00:00,10.0\n"
        f"{meter.meter_id},2026-01-05T00:30:00,10.5\n"
        f"{meter.meter_id},2026-01-05T00:45:00,10.7\n"
        "unknown,2026-01-05T00:30:00,1\n"
        "broken line\n"
    )
    dry = StringIO()
    call_command("import_readings", str(legacy), "--dry-run", stdout=dry)
    assert "Dry run (nothing kept)" in dry.getvalue() and "restored 2" in dry.getvalue()
    assert "rejected 3" in dry.getvalue()
    assert not Reading.objects.exists()
    call_command("import_readings", str(legacy), stdout=StringIO())
    assert Reading.objects.filter(meter=meter, source="import").count() == 2


@override_settings(RAW_RETENTION_DAYS=30)
def test_it_prunes_only_archived_live_readings_past_retention():
    live = MeterFactory(kind=MeterKind.LIVE)
    interval = MeterFactory()
    old, older = date(2026, 1, 5), date(2026, 1, 4)
    for meter in (live, interval):
        _load(meter, older, count=48)
        _load(meter, old, count=49, first=Decimal(200))
    archives.archive_write(kind="daily", period_start=old)
    deleted = archives.readings_prune(today=date(2026, 3, 1))
    assert deleted == 48
    assert not live.readings.filter(at__date=old).exists()
    assert live.readings.filter(at__date=older).count() == 48  # not archived: kept
    assert interval.readings.count() == 97  # interval meters are never pruned
    assert DailyUsage.objects.filter(meter=live, day=old).exists()


@override_settings(RAW_RETENTION_DAYS=30)
def test_it_archives_late_readings_before_pruning_their_day(archive_dir):
    live = MeterFactory(kind=MeterKind.LIVE)
    day = date(2026, 1, 5)
    _load(live, day, count=24)
    archives.archive_write(kind="daily", period_start=day)
    start = local_midnight(day, live.tz)
    services.reading_ingest_bulk(  # the device uploads the rest of its buffer after 00:30
        items=[
            ReadingIn(
                meter_id=live.meter_id,
                at=start + timedelta(minutes=30 * i),
                import_kwh=Decimal(100) + Decimal("0.5") * i,
            )
            for i in range(24, 48)
        ],
        source="mqtt",
    )

    deleted = archives.readings_prune(today=date(2026, 3, 1))

    assert deleted == 48
    assert Archive.objects.get(kind="daily", period_start=day).rows == 48
    call_command("restore_readings", str(day), stdout=StringIO())
    assert live.readings.count() == 48


def test_it_runs_the_beat_jobs(archive_dir):
    assert tasks.archive_yesterday() == 0
    assert tasks.archive_last_month() == 0
    assert tasks.prune_raw_readings() == 0
    assert Archive.objects.count() == 2


def test_it_schedules_archives_at_half_past_midnight_and_on_the_first(settings):
    daily = settings.CELERY_BEAT_SCHEDULE["meters-archive-daily"]["schedule"]
    monthly = settings.CELERY_BEAT_SCHEDULE["meters-archive-monthly"]["schedule"]
    assert (daily.hour, daily.minute) == ({0}, {30})
    assert monthly.day_of_month == {1}


def test_it_archives_readings_by_utc_instants_within_the_local_day():
    meter = MeterFactory()
    summer = date(2026, 7, 1)
    _load(meter, summer)
    archive = archives.archive_write(kind="daily", period_start=summer)
    first = _text(archives.archive_dir() / archive.path).splitlines()[1]
    assert ",2026-06-30T23:00:00+00:00," in first
    assert datetime(2026, 6, 30, 23, tzinfo=UTC) == Reading.objects.order_by("at").first().at


def test_it_lets_staff_archive_and_restore_through_the_api(api, staff, customer):
    meter = MeterFactory()
    _load(meter, DAY)
    body = {"kind": "daily", "period_start": "2026-01-05"}
    assert api.as_user(customer).post("/api/v1/system/archives", body).status_code == 403
    created = api.as_user(staff).post("/api/v1/system/archives", body)
    assert created.status_code == 201 and created.data["rows"] == 48
    Reading.objects.filter(at__lt=local_midnight(date(2026, 1, 6), meter.tz)).delete()
    restored = api.as_user(staff).post("/api/v1/system/archives/restore", body)
    assert restored.status_code == 200
    assert (restored.data["restored"], restored.data["meters"]) == (48, 1)
    assert Reading.objects.count() == 49
    missing = api.as_user(staff).post(
        "/api/v1/system/archives/restore", {"kind": "daily", "period_start": "2020-01-01"}
    )
    assert missing.status_code == 400 and "no such archive" in missing.data["detail"]


@override_settings(RAW_RETENTION_DAYS=30)
def test_it_refuses_a_late_reading_for_a_pruned_day_until_the_day_is_restored():
    live = MeterFactory(kind=MeterKind.LIVE)
    day = date(2026, 1, 5)
    _load(live, day, count=49)
    archives.archive_write(kind="daily", period_start=day)
    assert archives.readings_prune(today=timezone.localdate()) == 48
    usage_before = list(DailyUsage.objects.filter(meter=live).values("day", "import_kwh"))
    late = ReadingIn(
        meter_id=live.meter_id,
        at=local_midnight(day, live.tz) + timedelta(minutes=45),
        import_kwh=Decimal("100.7"),
    )

    [result] = services.reading_ingest_bulk(items=[late], source="api")

    assert (result.status, result.field) == ("rejected", "at")
    assert "archived and pruned" in result.reason and "restore_readings 2026-01-05" in result.reason
    assert list(DailyUsage.objects.filter(meter=live).values("day", "import_kwh")) == usage_before
    with pytest.raises(ApplicationError):  # the single-reading door says the same
        services.reading_record(meter=live, at=late.at, import_kwh=late.import_kwh, source="api")

    call_command("restore_readings", str(day), stdout=StringIO())
    [result] = services.reading_ingest_bulk(items=[late], source="api")
    assert result.status == "accepted"
    assert DailyUsage.objects.get(meter=live, day=day).import_kwh == Decimal(24)
