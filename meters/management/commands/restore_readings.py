from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from config.progress import progress
from meters import archives


def write_summary(command: BaseCommand, summary: archives.RestoreSummary, verb: str) -> None:
    figures = summary.as_dict()
    command.stdout.write(
        f"{verb}: files {figures['files']}, meters {figures['meters']}, readings restored "
        f"{figures['restored']}, skipped (already stored) {figures['skipped']}, conflicting "
        f"{figures['conflicting']}, rejected {figures['rejected']}"
    )
    for problem in figures["problems"]:
        command.stdout.write(f"  {problem}")


class Command(BaseCommand):
    help = (
        "Re-import readings from archives (files, days YYYY-MM-DD or months YYYY-MM) idempotently: "
        "stored readings are skipped, conflicts reported. A file whose SHA-256 does not match its "
        "manifest is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("archives", nargs="+", help="archive files, days or months")

    def handle(self, *args, **options):
        try:
            paths = archives.restore_paths(options["archives"])
            with progress(total=None, desc="restore", unit="readings", stream=self.stderr) as bar:
                summary = archives.readings_restore(paths=paths, on_progress=bar.update)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        write_summary(self, summary, "Restored")
        if summary.conflicting or summary.rejected:
            raise CommandError("Some readings were not restored; see above.")
