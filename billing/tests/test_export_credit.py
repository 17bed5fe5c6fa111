"""Export credits on monthly bills, against PostgreSQL, with readings (import and export
registers) stored through the meters ingest service."""

import base64
import re
import zlib
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services
from billing.models import Bill, BillLine, BillState, LineKind
from billing.pdf import invoice_pdf
from billing.tests.factories import TariffAssignmentFactory, TariffFactory, economy7_tariff
from meters.services import ReadingIn, reading_ingest_bulk
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")


def local(day: date, at: time = time(0, 0)) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON)


def ingest(meter, readings) -> None:
    """readings: (aware time, import kWh, export kWh or None)."""
    items = [
        ReadingIn(meter_id=meter.meter_id, at=at, import_kwh=imported, export_kwh=exported)
        for at, imported, exported in readings
    ]
    results = reading_ingest_bulk(items=items, source="api")
    assert {result.status for result in results} == {"accepted"}, results


def september_daily(meter, *, import_per_day, export_per_day) -> None:
    """A reading at every local midnight from 1 September to 1 October 2026."""
    readings = []
    for n in range(31):
        exported = None if export_per_day is None else Decimal(export_per_day) * n
        readings.append(
            (local(date(2026, 9, 1) + timedelta(days=n)), 1000 + import_per_day * n, exported)
        )
    ingest(meter, readings)


def export_lines(bill: Bill) -> list[BillLine]:
    return list(bill.lines.filter(kind=LineKind.EXPORT))


def pdf_text(document: bytes) -> str:
    """The strings a ReportLab PDF draws: its content streams are ASCII85 then Flate, and its
    string literals escape brackets and write non-ASCII as octal (£ is \\243)."""
    strings = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", document, re.S):
        try:
            raw = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        except (ValueError, zlib.error):
            continue
        for literal in re.findall(r"\(((?:\\.|[^\\)])*)\) Tj", raw.decode("latin-1")):
            literal = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), literal)
            strings.append(re.sub(r"\\(.)", r"\1", literal))
    return "\n".join(strings)


@pytest.fixture
def account(customer):
    return customer.customer_accounts.get()


@pytest.fixture
def meter(account):
    return MeterFactory(account=account)


def test_it_credits_the_months_export_at_the_export_rate_outside_vat(account, meter):
    tariff = TariffFactory(export_rate=Decimal("0.15"))  # 28p import, 52p/day, 5% VAT
    TariffAssignmentFactory(account=account, tariff=tariff)
    september_daily(meter, import_per_day=10, export_per_day=Decimal("1.35"))

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert [(line.kind, line.quantity, line.amount) for line in bill.lines.all()] == [
        (LineKind.ENERGY, Decimal("300.0000"), Decimal("84.00")),
        (LineKind.STANDING, Decimal("30"), Decimal("15.60")),
        # 40.5 kWh x 15p = 6.075, rounded half-up away from zero.
        (LineKind.EXPORT, Decimal("40.5000"), Decimal("-6.08")),
        # VAT on the charges only (99.60), not on the charges less the credit (93.52).
        (LineKind.VAT, Decimal("99.60"), Decimal("4.98")),
    ]
    credit = export_lines(bill)[0]
    assert credit.unit == "kWh" and credit.unit_price == Decimal("0.15000")
    assert credit.tariff == tariff and "export credit" in credit.description
    assert (bill.subtotal, bill.vat, bill.total) == (
        Decimal("93.52"),
        Decimal("4.98"),
        Decimal("98.50"),
    )
    assert bill.consumption_kwh == Decimal("300.0000") and not bill.is_credit


def test_it_credits_nothing_for_a_meter_without_an_export_register(account, meter):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=Decimal("0.15")))
    september_daily(meter, import_per_day=10, export_per_day=None)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert export_lines(bill) == []
    assert bill.total == Decimal("104.58")  # 84.00 + 15.60 + 4.98 VAT


def test_it_adds_up_only_the_meters_that_export(account, meter):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=Decimal("0.10")))
    september_daily(meter, import_per_day=10, export_per_day=None)
    september_daily(MeterFactory(account=account), import_per_day=1, export_per_day=2)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    [credit] = export_lines(bill)
    assert (credit.quantity, credit.amount) == (Decimal("60.0000"), Decimal("-6.00"))


@pytest.mark.parametrize("export_rate", [None, Decimal("0")])
def test_it_credits_nothing_on_a_tariff_without_an_export_rate(account, meter, export_rate):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=export_rate))
    september_daily(meter, import_per_day=10, export_per_day=5)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert export_lines(bill) == []
    assert bill.total == Decimal("104.58")


def test_it_credits_nothing_when_nothing_was_exported(account, meter):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=Decimal("0.15")))
    september_daily(meter, import_per_day=10, export_per_day=0)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert export_lines(bill) == [] and bill.total == Decimal("104.58")


def test_it_refuses_a_negative_export_rate():
    with pytest.raises(ValidationError, match="export_rate: must not be negative"):
        services.tariff_create(
            name="Upside down",
            standing_charge_per_day=Decimal("0.5"),
            export_rate=Decimal("-0.01"),
            valid_from=date(2026, 1, 1),
            rates=[services.RateIn(band="Standard", unit_rate=Decimal("0.2"))],
        )


def test_it_counts_only_the_part_of_the_crossing_intervals_inside_the_month(account, meter):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=Decimal("0.20")))
    noon = time(12, 0)
    ingest(
        meter,
        [
            (local(date(2026, 8, 31), noon), 1000, Decimal("0")),
            (local(date(2026, 9, 1), noon), 1010, Decimal("10")),
            (local(date(2026, 9, 30), noon), 1300, Decimal("10")),
            (local(date(2026, 10, 1), noon), 1310, Decimal("40")),
        ],
    )

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    # Half of each 24-hour interval that crosses a month boundary lies inside September:
    # 5 of the 10 kWh exported up to 1 September noon, 15 of the 30 up to 1 October noon.
    [credit] = export_lines(bill)
    assert (credit.quantity, credit.amount) == (Decimal("20.0000"), Decimal("-4.00"))


def test_it_credits_export_on_a_time_of_use_tariff(account, meter):
    TariffAssignmentFactory(account=account, tariff=economy7_tariff(export_rate=Decimal("0.05")))
    start, end = local(date(2026, 9, 1)).astimezone(UTC), local(date(2026, 10, 1)).astimezone(UTC)
    at, n, readings = start, 0, []
    while at <= end:
        readings.append((at, Decimal(500) + n, Decimal(n) / 10))  # 0.1 kWh exported a half-hour
        at, n = at + timedelta(minutes=30), n + 1
    ingest(meter, readings)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    [credit] = export_lines(bill)
    assert credit.quantity == Decimal("144.0000")  # 1440 half-hours in September
    assert credit.amount == Decimal("-7.20")
    assert {line.band for line in bill.lines.filter(kind=LineKind.ENERGY)} == {"Day", "Night"}
    energy_and_standing = sum(
        line.amount for line in bill.lines.filter(kind__in=[LineKind.ENERGY, LineKind.STANDING])
    )
    assert bill.lines.get(kind=LineKind.VAT).quantity == energy_and_standing


def test_it_credits_each_tariff_its_own_days_at_its_own_rate(account, meter):
    first = TariffFactory(export_rate=Decimal("0.10"))
    second = TariffFactory(export_rate=Decimal("0.20"))
    services.tariff_assign(account=account, tariff=first, starts_on=date(2026, 9, 1))
    services.tariff_assign(account=account, tariff=second, starts_on=date(2026, 9, 16))
    september_daily(meter, import_per_day=10, export_per_day=1)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert [(line.tariff, line.quantity, line.amount) for line in export_lines(bill)] == [
        (first, Decimal("15.0000"), Decimal("-1.50")),
        (second, Decimal("15.0000"), Decimal("-3.00")),
    ]


def test_it_credits_once_however_often_the_month_is_run_again(account, meter):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=Decimal("0.15")))
    september_daily(meter, import_per_day=10, export_per_day=Decimal("1.35"))

    draft, _ = services.bill_generate_for_month(account=account, month="2026-09")
    again, action = services.bill_generate_for_month(account=account, month="2026-09")
    assert action == services.REGENERATED and again.pk == draft.pk
    assert len(export_lines(again)) == 1

    services.bills_generate(month="2026-09", issue=True)
    services.bills_generate(month="2026-09", issue=True)

    bill = Bill.objects.get(account=account, state=BillState.ISSUED)
    assert Bill.objects.filter(account=account).count() == 1
    assert [line.amount for line in export_lines(bill)] == [Decimal("-6.08")]
    assert bill.total == Decimal("98.50")

    correction = services.bill_correct(bill=bill)
    assert [line.amount for line in export_lines(correction)] == [Decimal("-6.08")]
    assert correction.total == bill.total and correction.difference == 0


def test_it_keeps_a_negative_total_as_a_credit_balance_on_the_pdf_and_page(
    client, customer, account, meter
):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=Decimal("0.15")))
    september_daily(meter, import_per_day=1, export_per_day=30)  # 900 kWh exported

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)

    # 8.40 energy + 15.60 standing = 24.00; VAT 1.20 on that; credit 135.00.
    assert (bill.subtotal, bill.vat, bill.total) == (
        Decimal("-111.00"),
        Decimal("1.20"),
        Decimal("-109.80"),
    )
    assert bill.state == BillState.ISSUED and bill.is_credit

    text = pdf_text(invoice_pdf(bill))
    assert "export credit" in text and "-£135.00" in text
    assert "Total: credit balance (we owe you)" in text and "-£109.80" in text

    client.force_login(customer)
    page = client.get(reverse("billing:detail", args=[bill.number])).content.decode()
    assert "export credit" in page and "£-135.00" in page
    assert "credit balance" in page and "£-109.80" in page
    listing = client.get(reverse("billing:list")).content.decode()
    assert "£-109.80 (credit)" in listing


def test_it_prints_no_credit_balance_on_an_ordinary_bill(account, meter):
    TariffAssignmentFactory(account=account, tariff=TariffFactory(export_rate=Decimal("0.15")))
    september_daily(meter, import_per_day=10, export_per_day=Decimal("1.35"))

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)

    text = pdf_text(invoice_pdf(bill))
    assert "export credit" in text and "credit balance" not in text


def test_it_answers_400_to_a_negative_export_rate_through_the_api(api, staff):
    body = {
        "name": "Solar 2027",
        "standing_charge_per_day": "0.55",
        "valid_from": "2027-01-01",
        "rates": [{"band": "Standard", "unit_rate": "0.27"}],
    }
    refused = api.as_user(staff).post("/api/v1/tariffs", {**body, "export_rate": "-0.01"})
    assert refused.status_code == 400 and "export_rate" in str(refused.json())
    created = api.post("/api/v1/tariffs", {**body, "export_rate": "0.15"})
    assert created.status_code == 201 and created.json()["export_rate"] == "0.15000"
