"""Archives of readings and recovery from them (services: every function here writes).

An archive is ``ARCHIVE_DIR/daily/YYYY-MM-DD.csv.gz`` or ``monthly/YYYY-MM.csv.gz``: one row per
reading of the local day or month (settings.TIME_ZONE), header first, UTC ISO timestamps, sorted by
meter and time, gzip with a fixed header so the same readings always give the same bytes. Beside it
``<name>.sha256`` holds the SHA-256 in ``sha256sum`` format; restore refuses a file whose checksum
does not match it.

Columns are read by name: an archive written before ``export_register_reset`` was kept (one reset
flag for the whole reading) restores with that flag standing for both registers, its old meaning.
"""

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import tempfile
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.exceptions import ApplicationError

from .models import Archive, ArchiveKind, DailyUsage, Meter, MeterKind, Reading, ReadingDiagnostic
from .services import ReadingIn, daily_usage_refresh, reading_ingest_bulk
from .timeutils import day_bounds, interval_day, local_midnight, next_month

log = logging.getLogger(__name__)

COLUMNS = [
    *("meter_id", "at", "import_kwh", "export_kwh"),
    *("power_w", "power_l1_w", "power_l2_w", "power_l3_w"),
    *("source", "quality", "register_reset", "export_register_reset", "raw"),
]
BATCH = 5_000


def local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def archive_dir() -> Path:
    return Path(settings.ARCHIVE_DIR)


def archive_path(kind: str, period_start: date) -> Path:
    if kind == ArchiveKind.DAILY:
        return archive_dir() / "daily" / f"{period_start:%Y-%m-%d}.csv.gz"
    return archive_dir() / "monthly" / f"{period_start:%Y-%m}.csv.gz"


def _period(kind: str, period_start: date) -> tuple:
    tz = local_zone()
    if kind == ArchiveKind.DAILY:
        return day_bounds(period_start, tz)
    first = period_start.replace(day=1)
    return local_midnight(first, tz), local_midnight(next_month(first), tz)


def _number(value) -> str:
    return "" if value is None else str(value)


def _rows(start, end) -> Iterator[list]:
    # One index range scan per meter on (meter, at): no index on time alone is needed.
    for meter_pk, meter_id in Meter.objects.order_by("meter_id").values_list("pk", "meter_id"):
        readings = (
            Reading.objects.filter(meter_id=meter_pk, at__gte=start, at__lt=end)
            .order_by("at")
            .values_list(*COLUMNS[1:-1])
        )
        diagnostics = ReadingDiagnostic.objects.filter(meter_id=meter_pk, at__gte=start, at__lt=end)
        raw_of = dict(diagnostics.values_list("at", "raw"))
        for at, *values in readings.iterator(chunk_size=BATCH):
            *numbers, source, quality, reset, export_reset = values
            raw = raw_of.get(at)
            yield [
                meter_id,
                at.isoformat(),
                *(_number(v) for v in numbers),
                source,
                quality,
                "true" if reset else "false",
                "true" if export_reset else "false",
                "" if raw is None else json.dumps(raw, sort_keys=True),
            ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _archive_holds_the_day(day: date) -> bool:
    """Whether the day's readings are all in an archive, writing the daily archive again first
    when readings arrived after it was written (a device that uploads its buffer late): pruning
    must never delete a reading that no archive holds."""
    start, end = day_bounds(day, local_zone())
    stored = Reading.objects.filter(at__gte=start, at__lt=end).count()
    archive = Archive.objects.filter(kind=ArchiveKind.DAILY, period_start=day).first()
    if archive is not None and archive.rows >= stored:
        return True
    try:
        archive_write(kind=ArchiveKind.DAILY, period_start=day)
    except ApplicationError as refused:
        log.warning("not pruning %s: %s", day, refused.message)
        return False
    return True


def archive_write(*, kind: str, period_start: date) -> Archive:
    """Write (or rewrite) the archive of a local day or month and its manifest. Running it
    again over the same readings gives the same file and checksum."""
    if kind not in ArchiveKind.values:
        raise ApplicationError(f"kind: must be one of {', '.join(ArchiveKind.values)}.")
    if kind == ArchiveKind.MONTHLY:
        period_start = period_start.replace(day=1)
    start, end = _period(kind, period_start)
    path = archive_path(kind, period_start)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with (
            os.fdopen(handle, "wb") as raw_file,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw_file, mtime=0) as zipped,
            io.TextIOWrapper(zipped, encoding="utf-8", newline="") as text,
        ):
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(COLUMNS)
            for row in _rows(start, end):
                writer.writerow(row)
                rows += 1
        previous = Archive.objects.filter(kind=kind, period_start=period_start).first()
        if previous is not None and rows < previous.rows:
            raise ApplicationError(
                f"{path.name}: the archive holds {previous.rows} readings but only {rows} are "
                f"stored now (pruned?); keeping the archive as it is."
            )
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    checksum = _sha256(path)
    manifest_path(path).write_text(f"{checksum}  {path.name}\n")
    archive, _ = Archive.objects.update_or_create(
        kind=kind,
        period_start=period_start,
        defaults={
            "path": str(path.relative_to(archive_dir())),
            "sha256": checksum,
            "rows": rows,
        },
    )
    return archive


@dataclass
class RestoreSummary:
    files: int = 0
    meters: set = field(default_factory=set)
    restored: int = 0
    skipped: int = 0
    conflicting: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "meters": len(self.meters),
            "restored": self.restored,
            "skipped": self.skipped,
            "conflicting": self.conflicting,
            "rejected": self.rejected,
            "problems": self.problems[:50],
        }


def verify_archive(path: Path) -> None:
    """Raise ApplicationError unless ``path`` matches the SHA-256 in its manifest."""
    manifest = manifest_path(path)
    if not path.exists():
        raise ApplicationError(f"{path}: no such archive.")
    if not manifest.exists():
        raise ApplicationError(f"{path}: no manifest {manifest.name}; refusing an unverified file.")
    expected = manifest.read_text().split()[0].lower()
    actual = _sha256(path)
    if actual != expected:
        raise ApplicationError(
            f"{path}: checksum mismatch (manifest {expected}, file {actual}); refused."
        )


def _ingest(
    items: list[tuple[str, ReadingIn]],
    summary: RestoreSummary,
    default_source: str,
    *,
    restoring: bool = False,
) -> None:
    """Ingest a batch, keeping each row's own source, and count what became of it. Only a
    restore (``restoring``) may write into days whose raw readings were pruned."""
    by_source: dict[str, list[ReadingIn]] = defaultdict(list)
    for source, item in items:
        by_source[source or default_source].append(item)
    for source, batch in by_source.items():
        results = reading_ingest_bulk(items=batch, source=source, into_pruned_days=restoring)
        for result in results:
            summary.meters.add(result.meter_id)
            if result.status == "accepted":
                summary.restored += 1
            elif result.status == "duplicate":
                summary.skipped += 1
            elif result.code == "conflict":
                summary.conflicting += 1
                summary.problems.append(f"{result.meter_id} {result.at}: {result.reason}")
            else:
                summary.rejected += 1
                summary.problems.append(f"{result.meter_id} {result.at}: {result.reason}")


def _archive_items(path: Path) -> Iterator[tuple[str, ReadingIn]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        for row in csv.DictReader(text):
            yield (
                row["source"],
                ReadingIn(
                    meter_id=row["meter_id"],
                    at=row["at"],
                    import_kwh=row["import_kwh"],
                    export_kwh=row["export_kwh"] or None,
                    power_w=float(row["power_w"]) if row["power_w"] else None,
                    power_l1_w=float(row["power_l1_w"]) if row["power_l1_w"] else None,
                    power_l2_w=float(row["power_l2_w"]) if row["power_l2_w"] else None,
                    power_l3_w=float(row["power_l3_w"]) if row["power_l3_w"] else None,
                    quality=row["quality"],
                    register_reset=row["register_reset"] == "true",
                    export_register_reset=_flag(row.get("export_register_reset")),
                    raw=json.loads(row["raw"]) if row["raw"] else None,
                ),
            )


def _flag(text: str | None) -> bool | None:
    """An archive's true/false; None for a column the archive does not have."""
    return None if text is None else text == "true"


def _batched(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def readings_restore(
    *, paths: list[Path], on_progress: Callable[[int], None] | None = None
) -> RestoreSummary:
    """Re-import archive files idempotently: duplicates are no-ops, conflicts are reported and
    change nothing. Every file is verified against its manifest first; a mismatch refuses it
    (ApplicationError) before anything is written. Each batch commits on its own, so a large
    restore can be interrupted and run again."""
    for path in paths:
        verify_archive(path)
    summary = RestoreSummary()
    for path in paths:
        summary.files += 1
        for batch in _batched(_archive_items(path), BATCH):
            _ingest(batch, summary, "import", restoring=True)
            if on_progress:
                on_progress(len(batch))
    return summary


def restore_paths(specs: list[str]) -> list[Path]:
    """Files from command-line specs: a path, a day ``YYYY-MM-DD`` or a month ``YYYY-MM``."""
    paths = []
    for spec in specs:
        candidate = Path(spec)
        if candidate.suffix == ".gz" or candidate.exists():
            paths.append(candidate)
            continue
        try:
            if len(spec) == 7:
                paths.append(archive_path(ArchiveKind.MONTHLY, date.fromisoformat(spec + "-01")))
            else:
                paths.append(archive_path(ArchiveKind.DAILY, date.fromisoformat(spec)))
        except ValueError as exc:
            raise ApplicationError(f"{spec}: not a file, a day (YYYY-MM-DD) or month.") from exc
    return paths


def readings_import_csv(
    *,
    lines: Iterable[str],
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> RestoreSummary:
    """Import a legacy CSV of ``meter_id,timestamp,reading`` (header optional; naive timestamps
    in the meter's time zone). With ``dry_run`` everything is checked and nothing is kept."""
    reader = csv.reader(lines)
    summary = RestoreSummary(files=1)

    def items() -> Iterator[tuple[str, ReadingIn]]:
        for number, row in enumerate(reader, start=1):
            if number == 1 and row and row[0].strip().lower() == "meter_id":
                continue
            if len(row) != 3:
                summary.rejected += 1
                summary.problems.append(f"line {number}: expected meter_id,timestamp,reading")
                continue
            meter_id, timestamp, reading = (value.strip() for value in row)
            yield "import", ReadingIn(meter_id=meter_id, at=timestamp, import_kwh=reading)

    with transaction.atomic():
        for batch in _batched(items(), BATCH):
            _ingest(batch, summary, "import")
            if on_progress:
                on_progress(len(batch))
        if dry_run:
            transaction.set_rollback(True)
    return summary


def readings_prune(*, today: date | None = None) -> int:
    """Delete raw readings of live meters older than RAW_RETENTION_DAYS, day by day, only for
    days whose archive exists (daily, or the month's) and after refreshing their roll-ups.
    Returns the number of readings deleted."""
    tz = local_zone()
    today = today or timezone.localdate(timezone=tz)
    cutoff = today - timedelta(days=settings.RAW_RETENTION_DAYS)
    live = list(Meter.objects.filter(kind=MeterKind.LIVE))
    oldest = [meter.readings.order_by("at").values_list("at", flat=True).first() for meter in live]
    oldest = [at for at in oldest if at is not None]
    if not oldest:
        return 0
    first = min(oldest)
    archived_days = set(
        Archive.objects.filter(kind=ArchiveKind.DAILY, period_start__lt=cutoff).values_list(
            "period_start", flat=True
        )
    )
    archived_months = set(
        Archive.objects.filter(kind=ArchiveKind.MONTHLY).values_list("period_start", flat=True)
    )
    deleted = 0
    day = first.astimezone(tz).date()
    while day < cutoff:
        if (
            day in archived_days or day.replace(day=1) in archived_months
        ) and _archive_holds_the_day(day):
            start, end = day_bounds(day, tz)
            with transaction.atomic():
                for meter in live:
                    readings = meter.readings.filter(at__gte=start, at__lt=end)
                    days = {
                        interval_day(at, meter.tz) for at in readings.values_list("at", flat=True)
                    }
                    if (
                        days
                        and set(
                            DailyUsage.objects.filter(meter=meter, day__in=days).values_list(
                                "day", flat=True
                            )
                        )
                        != days
                    ):
                        daily_usage_refresh(meter=meter, days=days)
                    deleted += readings.delete()[0]
        day += timedelta(days=1)
    return deleted
