import csv
import sys

from django.core.management.base import BaseCommand, CommandError

from billing import services
from billing.models import RateDirection, Tariff
from config.exceptions import ApplicationError, InvalidInput

COLUMNS = {"valid_from", "value_exc_vat", "valid_to"}


def _header(name: str) -> str:
    """``Valid From``, ``valid-from`` and ``valid_from`` are one column."""
    return name.strip().lower().replace(" ", "_").replace("-", "_")


class Command(BaseCommand):
    help = (
        "Import a dynamic tariff's half-hourly unit rates from a CSV file (or - for stdin) with "
        "the columns valid_from and value_exc_vat (per kWh before VAT, in the tariff's "
        "currency; valid_to optional; other columns, e.g. value_inc_vat, are ignored: VAT comes "
        "from the tariff). Rows may be in any order; each local day in the file must be whole "
        "(46, 48 or 50 half-hours). Every day is checked before any is stored: a file with one "
        "bad row changes nothing. Idempotent: importing a file twice leaves the same rates."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV path, or - for standard input.")
        parser.add_argument("--tariff", required=True, help="The tariff's code.")
        parser.add_argument(
            "--direction", choices=RateDirection.values, default=RateDirection.IMPORT
        )

    def handle(self, *args, **options):
        tariff = Tariff.objects.filter(code=options["tariff"]).first()
        if tariff is None:
            raise CommandError(f"--tariff: no tariff with the code {options['tariff']!r}.")
        rows = self._rows(options["file"])
        try:
            days = services.unit_rates_by_day(rows)
            results = services.unit_rates_set_days(
                tariff=tariff, direction=options["direction"], days=days
            )
        except InvalidInput as exc:
            lines = [
                f"{field}: {message}" for field, msgs in exc.errors.items() for message in msgs
            ]
            raise CommandError("Nothing imported:\n  " + "\n  ".join(lines)) from exc
        except ApplicationError as exc:
            raise CommandError(f"Nothing imported: {exc.message}") from exc
        created = sum(result.created for result in results)
        changed = sum(result.changed for result in results)
        unchanged = sum(result.unchanged for result in results)
        self.stdout.write(
            f"{tariff.code} {options['direction']}: {len(results)} day(s); created {created}, "
            f"changed {changed}, unchanged {unchanged} half-hour rate(s)."
        )

    def _rows(self, path: str) -> list[dict]:
        try:
            handle = sys.stdin if path == "-" else open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"file: cannot read {path}: {exc.strerror}.") from exc
        try:
            with handle:
                return self._read(csv.reader(handle))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"file: not a UTF-8 CSV file: {exc}.") from exc

    def _read(self, reader) -> list[dict]:
        header = [_header(name) for name in next(reader, [])]
        missing = {"valid_from", "value_exc_vat"} - set(header)
        if missing:
            raise CommandError(f"file: the header needs the columns {', '.join(sorted(missing))}.")
        rows = []
        for line, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            row = {
                name: cell.strip()
                for name, cell in zip(header, cells, strict=False)
                if name in COLUMNS and cell.strip()
            }
            rows.append({**row, "line": line})
        return rows
