"""Customer meter reads (issue #19), through the API and the portal, against PostgreSQL."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from accounts.tests.factories import PASSWORD, UserFactory
from billing import services as billing
from billing.tests.factories import TariffAssignmentFactory
from meters.models import (
    KWH_DIGITS,
    KWH_PLACES,
    CustomerRead,
    MeterKind,
    Reading,
    ReadingCorrection,
    ReadingQuality,
    ReadingSource,
)
from meters.services import ReadingIn, reading_ingest_bulk, reading_record
from meters.tests.factories import MeterFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def meter(customer):
    return MeterFactory(account=customer.customer_accounts.get())


def url(meter) -> str:
    return f"/api/v1/meters/{meter.meter_id}/readings"


def test_it_refuses_a_read_lower_than_the_last_saying_so_and_stores_nothing(api, customer, meter):
    reading_record(meter=meter, at=local(2026, 11, 3), import_kwh="12345.6", source="api")

    response = api.as_user(customer).post(
        url(meter), {"at": "2026-11-10T00:00:00Z", "import_kwh": "12000"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith(
        "import_kwh: lower than your last reading of 12,345.6 on 3 Nov — did your meter change?"
    )
    assert list(body["fields"]) == ["import_kwh"]
    assert Reading.objects.filter(meter=meter).count() == 1
    assert not CustomerRead.objects.exists()


def test_a_refused_read_is_mailed_to_the_customer(
    api, customer, meter, django_capture_on_commit_callbacks
):
    reading_record(meter=meter, at=local(2026, 11, 3), import_kwh="12345.6", source="api")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(customer).post(
            url(meter), {"at": "2026-11-10T00:00:00Z", "import_kwh": "12000"}, format="json"
        )

    assert response.status_code == 400
    event = Event.objects.get(kind="read_refused")
    assert (event.account, event.payload["field"]) == (meter.account, "import_kwh")
    [message] = mail.outbox
    assert message.to == [customer.email]
    assert "lower than your last reading of 12,345.6 on 3 Nov" in message.body


def test_it_refuses_a_read_above_a_later_reading_naming_it(api, customer, meter):
    reading_record(meter=meter, at=local(2026, 11, 20), import_kwh="500", source="api")

    response = api.as_user(customer).post(
        url(meter), {"at": "2026-11-10T00:00:00Z", "import_kwh": "600"}, format="json"
    )

    assert response.status_code == 400
    assert "higher than the reading of 500 on 20 Nov, which is later" in response.json()["detail"]
    assert Reading.objects.filter(meter=meter).count() == 1


def test_it_stores_a_customer_read_as_customer_quality_and_shows_it(api, client, customer, meter):
    reading_record(meter=meter, at=local(2026, 11, 3), import_kwh="12345.6", source="api")

    response = api.as_user(customer).post(
        url(meter), {"at": "2026-11-10T00:00:00Z", "import_kwh": "12400.2"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["source"], response.json()["quality"]) == ("customer", "customer")
    stored = Reading.objects.get(meter=meter, at=datetime(2026, 11, 10, tzinfo=UTC))
    assert (stored.source, stored.quality) == (ReadingSource.CUSTOMER, ReadingQuality.CUSTOMER)
    read = CustomerRead.objects.get(meter=meter)
    assert (read.import_kwh, read.channel, read.submitted_by, read.implausible) == (
        Decimal("12400.2"),
        "api",
        customer,
        False,
    )
    again = api.post(url(meter), {"at": "2026-11-10T00:00:00Z", "import_kwh": "12400.2"})
    assert again.status_code == 200 and CustomerRead.objects.count() == 1

    client.login(email=customer.email, password=PASSWORD)
    page = client.get(f"/meters/{meter.meter_id}/").content.decode()
    assert "12,400.2 kWh" in page and "Accepted" in page


def test_a_customer_cannot_submit_a_read_of_another_customers_meter(api, customer, meter):
    other = MeterFactory()

    response = api.as_user(customer).post(
        url(other), {"at": "2026-11-10T00:00:00Z", "import_kwh": "1"}, format="json"
    )

    assert response.status_code == 404
    assert not Reading.objects.filter(meter=other).exists()


def test_a_customer_read_carries_only_its_registers(api, customer, meter):
    response = api.as_user(customer).post(
        url(meter),
        {"at": "2026-11-10T00:00:00Z", "import_kwh": "1", "quality": "actual"},
        format="json",
    )

    assert response.status_code == 400 and list(response.json()["fields"]) == ["quality"]
    assert not Reading.objects.exists()


def test_a_customer_reads_an_interval_meter_not_a_live_device(api, customer):
    live = MeterFactory(account=customer.customer_accounts.get(), kind=MeterKind.LIVE)

    response = api.as_user(customer).post(
        url(live), {"at": "2026-11-10T00:00:00Z", "import_kwh": "1"}, format="json"
    )

    assert response.status_code == 400 and list(response.json()["fields"]) == ["meter_id"]


def _usual_usage(meter, first: date, days: int, per_half_hour: Decimal) -> Decimal:
    """Half-hourly readings for ``days`` whole days; returns the last register."""
    start = local(first.year, first.month, first.day).astimezone(UTC)
    items, value = [], Decimal(1000)
    for n in range(days * 48 + 1):
        items.append(
            ReadingIn(
                meter_id=meter.meter_id, at=start + n * timedelta(minutes=30), import_kwh=value
            )
        )
        value += per_half_hour
    results = reading_ingest_bulk(items=items, source="api")
    assert {result.status for result in results} == {"accepted"}
    return value - per_half_hour


def test_it_flags_a_read_far_above_the_meters_usual_use_for_review(
    api, client, customer, meter, staff
):
    # 12 kWh a day for 10 days: the limit over the next 5 days is 5 x 12 x 5 = 300 kWh.
    last = _usual_usage(meter, date(2026, 10, 1), 10, Decimal("0.25"))
    customer_api = api.as_user(customer)

    plausible = customer_api.post(
        url(meter), {"at": "2026-10-16T00:00:00+01:00", "import_kwh": str(last + 290)}
    )
    implausible = customer_api.post(
        url(meter), {"at": "2026-10-21T00:00:00+01:00", "import_kwh": str(last + 290 + 301)}
    )

    assert (plausible.status_code, implausible.status_code) == (201, 201)
    flagged = CustomerRead.objects.get(implausible=True)
    assert flagged.at == local(2026, 10, 21) and "limit 300 kWh" in flagged.plausibility_note
    assert CustomerRead.objects.filter(implausible=False).count() == 1
    assert Reading.objects.filter(meter=meter, at=local(2026, 10, 21)).exists()  # stored anyway

    client.login(email=staff.email, password=PASSWORD)
    to_review = client.get("/admin/meters/customerread/", {"review": "to_review"}).content.decode()
    assert to_review.count("Correct…") == 1 and "2026-10-20T23:00:00Z" in to_review
    client.post(
        "/admin/meters/customerread/",
        {"action": "mark_reviewed", "_selected_action": [flagged.pk]},
    )
    flagged.refresh_from_db()
    assert flagged.reviewed_by == staff and not flagged.needs_review


def test_the_next_bill_uses_the_customers_read(api, customer, meter):
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account)
    reading_record(meter=meter, at=local(2026, 10, 1), import_kwh="1000", source="api")
    response = api.as_user(customer).post(
        url(meter), {"at": "2026-11-01T00:00:00Z", "import_kwh": "1321.5"}, format="json"
    )
    assert response.status_code == 201

    bill, _ = billing.bill_generate_for_month(account=account, month="2026-10")

    assert bill.consumption_kwh == Decimal("321.5")
    read = bill.reads.get()
    assert (read.closing_kwh, read.closing_quality) == (Decimal("1321.5"), "C")  # customer read
    assert read.opening_quality == "A"


def test_the_customer_read_form_names_the_refusal_next_to_the_reading(client, customer, meter):
    reading_record(meter=meter, at=local(2026, 11, 3), import_kwh="12345.6", source="api")
    client.login(email=customer.email, password=PASSWORD)

    response = client.post(
        f"/meters/{meter.meter_id}/",
        {"read_on": "2026-11-10", "read_time": "09:30", "import_kwh": "12000"},
    )

    assert response.status_code == 400
    assert "lower than your last reading of 12,345.6 on 3 Nov" in response.content.decode()
    assert Reading.objects.filter(meter=meter).count() == 1


def test_only_customers_submit_reads_on_the_portal(client, meter):
    staff_user = UserFactory(role="staff")
    client.login(email=staff_user.email, password=PASSWORD)

    response = client.post(
        f"/meters/{meter.meter_id}/",
        {"read_on": "2026-11-10", "read_time": "09:30", "import_kwh": "1"},
    )

    assert response.status_code == 403 and not Reading.objects.exists()


def test_the_audit_records_keep_the_readings_register_digits():
    for name in ("old_import_kwh", "new_export_kwh"):
        field = ReadingCorrection._meta.get_field(name)
        assert (field.max_digits, field.decimal_places) == (KWH_DIGITS, KWH_PLACES)
    field = CustomerRead._meta.get_field("import_kwh")
    assert (field.max_digits, field.decimal_places) == (
        Reading._meta.get_field("import_kwh").max_digits,
        Reading._meta.get_field("import_kwh").decimal_places,
    )
