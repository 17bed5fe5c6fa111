from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from config.progress import progress
from meters import archives

from .restore_readings import write_summary


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
        try:
            with (
                path.open(encoding="utf-8", newline="") as lines,
                progress(total=None, desc="import", unit="readings", stream=self.stderr) as bar,
            ):
                summary = archives.readings_import_csv(
                    lines=lines, dry_run=options["dry_run"], on_progress=bar.update
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        write_summary(self, summary, "Dry run (nothing kept)" if options["dry_run"] else "Imported")
