from django.core.management.base import BaseCommand

from portal.demo.seed import DEMO_USERS, demo_seed


class Command(BaseCommand):
    help = (
        "Seed the demo supplier if it is missing: the three logins, 16 households with a year "
        "of half-hourly history, tariffs, a year of bills, the demo customer's battery and "
        "charger. Idempotent: a second run adds nothing."
    )

    def handle(self, *args, **options) -> None:
        report = demo_seed(stream=self.stderr)
        if report.households:
            self.stdout.write(
                f"  seeded {report.households} households, {report.readings:,} readings, "
                f"{report.bills} bills; devices: {', '.join(report.devices) or 'none'}"
            )
        for email, password, role, _name in DEMO_USERS:
            self.stdout.write(f"  {role:<9} {email:<26} password: {password}")
