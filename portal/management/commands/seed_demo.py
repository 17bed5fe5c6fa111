from django.core.management.base import BaseCommand

from portal.demo.seed import DEMO_USERS, HISTORY_MONTHS, demo_seed


class Command(BaseCommand):
    help = (
        "Seed the demo supplier if it is missing: the three logins, 16 households with a year "
        "of half-hourly history, flat, Economy 7 and agile tariffs (a year of half-hourly "
        "rates), a year of bills, the demo customer's battery and charger. Idempotent: a second "
        "run adds nothing but the agile rates of days that have begun since."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months",
            type=int,
            default=HISTORY_MONTHS,
            choices=range(1, HISTORY_MONTHS + 1),
            metavar=f"1-{HISTORY_MONTHS}",
            help="Whole months of history and bills before this one (default: a year).",
        )

    def handle(self, *args, **options) -> None:
        report = demo_seed(stream=self.stderr, history_months=options["months"])
        if report.households:
            self.stdout.write(
                f"  seeded {report.households} households, {report.readings:,} readings, "
                f"{report.bills} bills, {report.rate_days} days of agile rates; "
                f"devices: {', '.join(report.devices) or 'none'}"
            )
        for email, password, role, _name in DEMO_USERS:
            self.stdout.write(f"  {role:<9} {email:<26} password: {password}")
