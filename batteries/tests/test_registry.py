import re
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.tests.factories import CustomerAccountFactory
from batteries import services
from batteries.models import Battery, BatteryReading
from batteries.tests.factories import BatteryFactory, reading
from config.exceptions import InvalidInput

pytestmark = pytest.mark.django_db


def test_it_builds_the_identifier_from_district_counter_and_capacity():
    first = BatteryFactory(postcode="n1 9gu", capacity_kwh=Decimal("10"))
    second = BatteryFactory(postcode="N1 7AA", capacity_kwh=Decimal("13.5"))
    elsewhere = BatteryFactory(postcode="SW1A 1AA", capacity_kwh=Decimal("5.00"))

    assert first.identifier == "N1-0001-10"
    assert second.identifier == "N1-0002-13.5"
    assert elsewhere.identifier == "SW1A-0001-5"
    assert first.postcode == "N1 9GU"


def test_it_counts_in_hexadecimal_and_grows_past_ffff():
    assert services.identifier_format(prefix="n1", number=10, capacity_kwh=Decimal("10")) == (
        "N1-000A-10"
    )
    assert services.identifier_format(prefix="N1", number=0x10000, capacity_kwh=Decimal(7)) == (
        "N1-10000-7"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postcode", "not a postcode", "valid UK postcode"),
        ("capacity_kwh", Decimal("0"), "greater than 0"),
        ("capacity_kwh", Decimal("-5"), "greater than 0"),
        ("capacity_kwh", "lots", "number"),
        ("ip_address", "300.1.1.1", "IPv4 or IPv6"),
        ("min_soc_reserve", Decimal("101"), "0 to 100"),
        ("location", "  ", "where the unit is"),
    ],
)
def test_it_refuses_an_invalid_battery_naming_the_field(field, value, message):
    with pytest.raises(InvalidInput) as caught:
        BatteryFactory(**{field: value})

    assert message in " ".join(caught.value.errors[field])
    assert not Battery.objects.exists()


def test_it_accepts_ipv6_addresses():
    assert BatteryFactory(ip_address="2001:db8::1").ip_address == "2001:db8::1"


def test_it_refuses_a_minimum_reserve_above_the_maximum():
    with pytest.raises(InvalidInput) as caught:
        BatteryFactory(min_soc_reserve=Decimal(80), max_soc_reserve=Decimal(50))

    assert "below the maximum" in caught.value.errors["min_soc_reserve"][0]


def test_it_enforces_capacity_in_the_database_too():
    battery = BatteryFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Battery.objects.filter(pk=battery.pk).update(capacity_kwh=0)


def test_it_gives_back_the_number_of_a_rolled_back_creation():
    account = CustomerAccountFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        BatteryFactory(account=account)
        raise RuntimeError("creation failed later")

    assert BatteryFactory(account=account).identifier == "N1-0001-10"


@pytest.mark.django_db(transaction=True)
def test_it_hands_out_unique_identifiers_to_20_concurrent_creations():
    assert connection.vendor == "postgresql"
    account = CustomerAccountFactory()
    barrier = threading.Barrier(20)
    identifiers, errors = [], []

    def create():
        try:
            barrier.wait(timeout=30)
            battery = services.battery_create(
                account=account,
                location="Loft",
                postcode="E8 1AA",
                capacity_kwh=Decimal("9.6"),
                vendor="Acme",
                model="X",
            )
            identifiers.append(battery.identifier)
        except Exception as exc:  # collected so the test can show it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(identifiers) == [f"E8-{n:04X}-9.6" for n in range(1, 21)]
    assert all(re.fullmatch(r"E8-[0-9A-F]{4}-9\.6", i) for i in identifiers)
    assert Battery.objects.filter(identifier__startswith="E8-").count() == 20


def test_it_archives_a_battery_history_to_csv_before_deleting_it(settings, tmp_path):
    settings.BATTERIES_ARCHIVE_DIR = tmp_path
    battery = BatteryFactory()
    services.reading_record(battery=battery, data=reading(), source="api")

    archive = services.battery_delete(battery=battery)

    assert not Battery.objects.exists()
    assert not BatteryReading.objects.exists()
    lines = (archive.folder / "readings.csv").read_text().splitlines()
    assert len(lines) == 2
    assert battery.identifier in lines[1]
    assert (archive.folder / "batteries.csv").read_text().count(battery.identifier) == 1
