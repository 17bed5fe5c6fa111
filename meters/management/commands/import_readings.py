from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from meters import archives

from .restore_readings import Progress, write_summary


class Command(BaseCommand):
    help = (
        "Import a legacy CSV of meter_id,timestamp,reading (kWh register; timestamps without an "
        "offset are read in the meter's time zone). --dry-run checks everything and keeps nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"{path}: no such file.")
        progress = Progress()
        try:
            with path.open(encoding="utf-8", newline="") as lines:
                summary = archives.readings_import_csv(
                    lines=lines, dry_run=options["dry_run"], on_progress=progress
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        progress.close()
        write_summary(self, summary, "Dry run (nothing kept)" if options["dry_run"] else "Imported")
