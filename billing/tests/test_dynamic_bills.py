"""Bills of a dynamic (agile-style) tariff: each half-hour's consumption at the feed's rate for
it, one checkable line per local day; a half-hour without a rate holds the bill for review,
never prices at zero."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from billing import services
from billing.models import BillState, HalfHourRate, LineKind
from billing.tests.factories import (
    TariffAssignmentFactory,
    TariffFactory,
    agile_tariff,
    half_hour_rates_store,
)
from billing.tests.test_half_hour_prices import LONDON
from billing.tests.test_services import amounts, half_hourly
from meters.models import MeterKind
from meters.services import ReadingIn, reading_ingest_bulk
from meters.tests.factories import MeterFactory
from meters.timeutils import half_hours_in_day

pytestmark = pytest.mark.django_db

FEB = date(2026, 2, 1)  # a past month of 28 days, no clock change
MAR = date(2026, 3, 1)  # has the spring clock change: 29 March has 46 half-hours


def month_days(first: date) -> list[date]:
    nxt = services.next_month(first)
    return [first + timedelta(days=n) for n in range((nxt - first).days)]


def feed_month(tariff, first: date, value_of) -> None:
    for day in month_days(first):
        n = half_hours_in_day(day, LONDON)
        half_hour_rates_store(tariff=tariff, day=day, values=[value_of(day, k) for k in range(n)])


@pytest.fixture
def account(customer):
    return customer.customer_accounts.get()


@pytest.fixture
def meter(account):
    return MeterFactory(account=account)


def test_it_prices_each_half_hour_at_its_rate_with_a_line_per_day(account, meter):
    tariff = agile_tariff(name="Agile", vat_rate=Decimal("0.05"))
    TariffAssignmentFactory(account=account, tariff=tariff)
    # Half-hour k of every day costs (10 + k)p, the first day 1p less each half-hour.
    feed_month(tariff, FEB, lambda day, k: Decimal(10 + k - (day == FEB)) / 100)
    half_hourly(meter, FEB, services.next_month(FEB), per_half_hour=Decimal("0.5"))
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    assert bill.state == BillState.ISSUED and not bill.needs_review
    energy = [line for line in bill.lines.order_by("position") if line.kind == LineKind.ENERGY]
    assert len(energy) == 28
    # A day: 48 half-hours of 0.5 kWh at 10p..57p = 0.5 * (sum of 10..57)p = 0.5 * 1608p = £8.04.
    assert {(line.quantity, line.amount) for line in energy[1:]} == {
        (Decimal("24.0000"), Decimal("8.04"))
    }
    first = energy[0]
    assert (first.quantity, first.amount) == (
        Decimal("24.0000"),
        Decimal("7.80"),
    )  # 24 kWh * 1p less
    assert first.unit_price == Decimal("0.32500")
    assert first.description == (
        "Agile energy, Sun 01 Feb: 24 kWh over 48 half-hours at their own rates (average 0.325/kWh)"
    )
    assert first.band == "Half-hourly"
    net_energy = Decimal("7.80") + 27 * Decimal("8.04")
    standing = 28 * Decimal("0.52")
    assert bill.subtotal == net_energy + standing
    assert bill.vat == services.vat_on(net=net_energy + standing, vat_rate=Decimal("0.05"))
    assert bill.consumption_kwh == Decimal("672.0000")
    assert len(bill.daily_usage) == 28


def test_it_prices_negative_half_hours_as_credits_within_the_day(account, meter):
    tariff = agile_tariff()
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_month(tariff, FEB, lambda day, k: Decimal("-0.10") if k < 24 else Decimal("0.30"))
    half_hourly(meter, FEB, services.next_month(FEB), per_half_hour=Decimal("1"))
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    energy = [line for line in bill.lines.all() if line.kind == LineKind.ENERGY]
    assert {line.amount for line in energy} == {Decimal("4.80")}  # 24 * -0.10 + 24 * 0.30


def test_it_holds_the_bill_for_review_when_a_half_hour_has_no_rate(account, meter):
    tariff = agile_tariff(name="Agile")
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_month(tariff, FEB, lambda day, k: Decimal("0.20"))
    missing = HalfHourRate.objects.filter(tariff=tariff).order_by("valid_from")[100]
    missing_at = missing.valid_from
    missing.delete()
    half_hourly(meter, FEB, services.next_month(FEB), per_half_hour=Decimal("1"))
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    assert bill.state == BillState.DRAFT and bill.needs_review
    assert "Agile: no import rate yet for 1 half-hour(s) with energy on 03 Feb (from 02:00)" in (
        bill.notes
    )
    energy = [line for line in bill.lines.all() if line.kind == LineKind.ENERGY]
    assert len(energy) == 27  # the day without its rate is not priced, and never at zero
    assert all(line.amount > 0 for line in energy)
    # The rate arrives: the next run regenerates the draft, prices the day and issues it.
    HalfHourRate.objects.create(
        tariff=tariff, direction="import", valid_from=missing_at, value_exc_vat=Decimal("0.20")
    )
    bill, action = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    assert action == services.REGENERATED
    bill.refresh_from_db()
    assert bill.state == BillState.ISSUED and not bill.needs_review
    assert [line.amount for line in bill.lines.all() if line.kind == LineKind.ENERGY] == [
        Decimal("9.60")
    ] * 28


def test_it_does_not_need_a_rate_for_a_half_hour_without_consumption(account, meter):
    tariff = agile_tariff()
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_month(tariff, FEB, lambda day, k: Decimal("0.20"))
    HalfHourRate.objects.filter(tariff=tariff).order_by("valid_from")[100].delete()
    half_hourly(meter, FEB, services.next_month(FEB), per_half_hour=Decimal("0"))
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    assert not bill.needs_review
    assert not [line for line in bill.lines.all() if line.kind == LineKind.ENERGY]


def test_it_bills_a_clock_change_month_by_its_46_half_hour_day(account, meter):
    tariff = agile_tariff()
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_month(tariff, MAR, lambda day, k: Decimal("0.10"))
    half_hourly(meter, MAR, services.next_month(MAR), per_half_hour=Decimal("1"))
    bill, _ = services.bill_generate_for_month(account=account, month=MAR, issue=True)
    assert not bill.needs_review
    by_day = {
        line.description.split(":")[0]: (line.quantity, line.amount)
        for line in bill.lines.all()
        if line.kind == LineKind.ENERGY
    }
    assert by_day[f"{tariff.name} energy, Sun 29 Mar"] == (
        Decimal("46.0000"),
        Decimal("4.60"),
    )
    assert sum(quantity for quantity, _ in by_day.values()) == Decimal(31 * 48 - 2)


def test_it_bills_a_mid_month_change_from_flat_to_dynamic_by_day(account, meter):
    flat = TariffFactory(name="Flat")  # 28p
    agile = agile_tariff(name="Agile")
    services.tariff_assign(account=account, tariff=flat, starts_on=date(2020, 1, 1))
    services.tariff_assign(account=account, tariff=agile, starts_on=date(2026, 2, 15))
    feed_month(agile, FEB, lambda day, k: Decimal("0.10"))
    half_hourly(meter, FEB, services.next_month(FEB), per_half_hour=Decimal("1"))
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    lines = amounts(bill)
    energy = [line for line in lines if line[0] == LineKind.ENERGY]
    assert energy[0] == (LineKind.ENERGY, "Standard", Decimal("672.0000"), Decimal("188.16"))
    assert (
        energy[1:] == [(LineKind.ENERGY, "Half-hourly", Decimal("48.0000"), Decimal("4.80"))] * 14
    )
    assert bill.consumption_kwh == Decimal("1344.0000")


def test_it_leaves_flat_and_time_of_use_bills_as_they_were(account, meter):
    """The safety net for existing tariffs is the rest of billing's tests; this one checks a
    flat account next to a dynamic one in the same chunk is priced by its band."""
    TariffAssignmentFactory(account=account, tariff=TariffFactory())
    other = TariffAssignmentFactory(tariff=agile_tariff()).account
    half_hourly(meter, FEB, services.next_month(FEB), per_half_hour=Decimal("1"))
    services.bills_generate(month=FEB, accounts=[account, other])
    bill = account.bills.get()
    assert amounts(bill)[0] == (
        LineKind.ENERGY,
        "Standard",
        Decimal("1344.0000"),
        Decimal("376.32"),
    )


def half_hourly_with_export(meter, first: date, *, imported, exported) -> None:
    """Readings every half-hour of the month (UTC arithmetic) with both registers."""
    start = datetime.combine(first, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(services.next_month(first), time(0), tzinfo=LONDON).astimezone(UTC)
    at, k, items = start, 0, []
    while at <= end:
        items.append(
            ReadingIn(
                meter_id=meter.meter_id,
                at=at,
                import_kwh=Decimal(500) + imported * k,
                export_kwh=Decimal(100) + exported * k,
            )
        )
        at += timedelta(minutes=30)
        k += 1
    results = reading_ingest_bulk(items=items, source="api")
    assert {result.status for result in results} == {"accepted"}


def test_it_credits_dynamic_export_per_half_hour_outside_vat(account, meter):
    tariff = TariffFactory(name="Outgoing", export_dynamic=True, export_rate=Decimal("0.99"))
    TariffAssignmentFactory(account=account, tariff=tariff)
    store_export = lambda day, k: Decimal("0.05") if k < 24 else Decimal("0.15")  # noqa: E731
    for day in month_days(FEB):
        half_hour_rates_store(
            tariff=tariff,
            day=day,
            values=[store_export(day, k) for k in range(48)],
            direction="export",
        )
    half_hourly_with_export(meter, FEB, imported=Decimal("1"), exported=Decimal("0.5"))
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    assert not bill.needs_review
    credits = [line for line in bill.lines.all() if line.kind == LineKind.EXPORT]
    # 24 half-hours of 0.5 kWh at 5p and 24 at 15p: 0.6 + 1.8 = £2.40 credited a day.
    assert {(line.quantity, line.amount, line.band) for line in credits} == {
        (Decimal("24.0000"), Decimal("-2.40"), "Half-hourly")
    }
    assert len(credits) == 28  # and not the flat 99p export_rate, which dynamic export replaces
    energy = [line for line in bill.lines.all() if line.kind == LineKind.ENERGY]
    assert [(line.quantity, line.amount) for line in energy] == [
        (Decimal("1344.0000"), Decimal("376.32"))  # import stays flat: 28p
    ]
    charges = Decimal("376.32") + 28 * Decimal("0.52")
    assert bill.vat == services.vat_on(net=charges, vat_rate=Decimal("0.05"))  # on charges only
    assert bill.subtotal == charges - 28 * Decimal("2.40")


def test_it_holds_the_bill_when_an_exported_half_hour_has_no_rate(account, meter):
    tariff = TariffFactory(name="Outgoing", export_dynamic=True)
    TariffAssignmentFactory(account=account, tariff=tariff)
    for day in month_days(FEB):
        half_hour_rates_store(
            tariff=tariff, day=day, values=[Decimal("0.10")] * 48, direction="export"
        )
    HalfHourRate.objects.filter(tariff=tariff).order_by("-valid_from")[0].delete()
    half_hourly_with_export(meter, FEB, imported=Decimal("1"), exported=Decimal("0.5"))
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    assert bill.needs_review and bill.state == BillState.DRAFT
    assert "Outgoing: no export rate yet for 1 half-hour(s) with energy on 28 Feb" in bill.notes
    assert len([line for line in bill.lines.all() if line.kind == LineKind.EXPORT]) == 27


def test_it_prices_readings_taken_off_the_half_hour_by_the_half_hour_they_fall_in(account):
    meter = MeterFactory(account=account, kind=MeterKind.LIVE)  # reads whenever it likes
    tariff = agile_tariff()
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_month(tariff, FEB, lambda day, k: Decimal("0.10"))
    start = datetime.combine(FEB, time(0), tzinfo=LONDON).astimezone(UTC)
    items = [
        ReadingIn(
            meter_id=meter.meter_id,
            at=start + timedelta(minutes=10 + 30 * k),
            import_kwh=Decimal(500 + k),
        )
        for k in range(28 * 48 + 1)
    ]
    assert {r.status for r in reading_ingest_bulk(items=items, source="api")} == {"accepted"}
    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    assert not bill.needs_review, bill.notes
    assert bill.consumption_kwh > 0
    energy = [line for line in bill.lines.all() if line.kind == LineKind.ENERGY]
    assert sum(line.amount for line in energy) == (bill.consumption_kwh * Decimal("0.10")).quantize(
        Decimal("0.01")
    )
