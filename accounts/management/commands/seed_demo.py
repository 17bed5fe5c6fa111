from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import DwellingType, Region, Role, User

DEMO_USERS = [
    ("staff@homegrid.local", "switchboard-42", Role.STAFF, "Sam Staff"),
    ("customer@homegrid.local", "solar-panels-42", Role.CUSTOMER, "Casey Customer"),
    ("analyst@homegrid.local", "demand-curve-42", Role.ANALYST, "Ana Analyst"),
]


class Command(BaseCommand):
    help = "Create the demo logins (staff, customer with an account, analyst) if they are missing."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for email, password, role, name in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = services.user_create(
                    email=email, password=password, role=role, full_name=name
                )
                if role == Role.CUSTOMER:
                    services.account_create(
                        owner_name=name,
                        address="1 Demo Street\nLondon",
                        postcode="N1 9GU",
                        region=Region.LONDON,
                        dwelling_type=DwellingType.TERRACED,
                        users=[user],
                    )
            self.stdout.write(f"  {role:<9} {email:<26} password: {password}")
