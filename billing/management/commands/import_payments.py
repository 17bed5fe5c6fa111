from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing import services
from config.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Import bank statement CSV files: rows naming an account number become payments, the "
        "others are kept for staff (admin: Bank statement lines). Importing the same rows again "
        "adds nothing. Columns: README, Payments."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="CSV files.")

    def handle(self, *args, **options):
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file.")
            try:
                imported = services.bank_statement_import(
                    content=path.read_bytes(), filename=path.name
                )
            except ApplicationError as exc:
                raise CommandError(f"{name}: {exc.message}") from exc
            self.stdout.write(
                f"{name}: {imported.rows} rows, {imported.matched} matched, "
                f"{imported.unmatched} unmatched, {imported.invalid} unreadable, "
                f"{imported.duplicates} already imported"
            )
