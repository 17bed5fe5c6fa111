"""Bill generation, against PostgreSQL, with readings stored through the meters ingest service."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services
from billing.models import Bill, BillLine, BillState, LineKind
from billing.tests.factories import TariffAssignmentFactory, TariffFactory, economy7_tariff
from config.exceptions import ApplicationError, Conflict
from meters.services import ReadingIn, reading_ingest_bulk
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")


def local(day: date, at: time = time(0, 0)) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON)


def ingest(meter, readings) -> None:
    """readings: (aware time, kWh[, register_reset]) stored through the meters ingest."""
    items = [
        ReadingIn(
            meter_id=meter.meter_id,
            at=at,
            import_kwh=kwh,
            register_reset=bool(rest and rest[0]),
        )
        for at, kwh, *rest in readings
    ]
    results = reading_ingest_bulk(items=items, source="api")
    assert {result.status for result in results} == {"accepted"}, results


def daily_readings(meter, first: date, last: date, per_day, start=Decimal(1000)) -> None:
    """A reading at every local midnight from ``first`` to ``last`` inclusive."""
    value = Decimal(start)
    readings = []
    day = first
    while day <= last:
        readings.append((local(day), value))
        value += Decimal(per_day)
        day += timedelta(days=1)
    ingest(meter, readings)


def half_hourly(meter, first: date, nxt: date, per_half_hour=Decimal(1)) -> int:
    start, end = local(first).astimezone(UTC), local(nxt).astimezone(UTC)  # UTC arithmetic
    at, value, readings = start, Decimal(500), []
    while at <= end:
        readings.append((at, value))
        value += per_half_hour
        at += timedelta(minutes=30)
    ingest(meter, readings)
    return len(readings) - 1


def amounts(bill: Bill) -> list[tuple[str, str, Decimal, Decimal]]:
    return [
        (line.kind, line.band, line.quantity, line.amount)
        for line in bill.lines.order_by("position")
    ]


@pytest.fixture
def account(customer):
    return customer.customer_accounts.get()


@pytest.fixture
def meter(account):
    return MeterFactory(account=account)


def test_it_bills_the_worked_example_to_the_penny(account, meter):
    TariffAssignmentFactory(account=account, tariff=TariffFactory())  # 28p, 52p/day, 5% VAT
    ingest(meter, [(local(date(2026, 9, 1)), 1000), (local(date(2026, 10, 1)), 1350)])

    bill, action = services.bill_generate_for_month(account=account, month="2026-09")

    assert action == services.CREATED
    assert bill.state == BillState.DRAFT and not bill.needs_review
    assert bill.consumption_kwh == Decimal("350.0000")
    assert [(k, q, a) for k, _, q, a in amounts(bill)] == [
        (LineKind.ENERGY, Decimal("350.0000"), Decimal("98.00")),
        (LineKind.STANDING, Decimal("30"), Decimal("15.60")),
        (LineKind.VAT, Decimal("113.60"), Decimal("5.68")),
    ]
    assert (bill.subtotal, bill.vat, bill.total) == (
        Decimal("113.60"),
        Decimal("5.68"),
        Decimal("119.28"),
    )
    read = bill.reads.get()
    assert (read.opening_quality, read.closing_quality) == ("A", "A")
    assert read.opening_at == local(date(2026, 9, 1))
    assert read.closing_at == local(date(2026, 10, 1))


def test_it_rounds_each_line_half_up_and_totals_the_lines():
    line = services.LineDraft(
        kind=LineKind.ENERGY,
        description="x",
        quantity=Decimal("0.125"),
        unit="kWh",
        unit_price=Decimal("1"),
    )
    assert line.amount == Decimal("0.13")
    assert services.money(Decimal("2.345")) == Decimal("2.35")
    assert services.money(Decimal("2.3449")) == Decimal("2.34")


@pytest.mark.parametrize(
    ("first", "nxt", "night_half_hours", "all_half_hours"),
    [
        # Clocks go forward on Sunday 29 March 2026 at 01:00: that night has 12 night half-hours.
        (date(2026, 3, 1), date(2026, 4, 1), 30 * 14 + 12, 31 * 48 - 2),
        # Clocks go back on Sunday 25 October 2026 at 02:00: 01:00-02:00 happens twice (16).
        (date(2026, 10, 1), date(2026, 11, 1), 30 * 14 + 16, 31 * 48 + 2),
    ],
)
def test_it_splits_economy_7_by_local_time_across_a_dst_change(
    account, meter, first, nxt, night_half_hours, all_half_hours
):
    TariffAssignmentFactory(account=account, tariff=economy7_tariff())
    assert half_hourly(meter, first, nxt) == all_half_hours

    bill, _ = services.bill_generate_for_month(account=account, month=first)

    energy = {band: (q, a) for kind, band, q, a in amounts(bill) if kind == LineKind.ENERGY}
    night = Decimal(night_half_hours)
    day = Decimal(all_half_hours - night_half_hours)
    assert energy == {
        "Night": (night, services.money(night * Decimal("0.09"))),
        "Day": (day, services.money(day * Decimal("0.30"))),
    }
    assert bill.consumption_kwh == all_half_hours


def test_it_prorates_a_mid_month_tariff_change_by_days(account, meter):
    cheap = TariffFactory(
        name="Cheap", standing_charge_per_day=Decimal("0.50"), rates=[{"unit_rate": "0.20"}]
    )
    dear = TariffFactory(
        name="Dear", standing_charge_per_day=Decimal("0.60"), rates=[{"unit_rate": "0.30"}]
    )
    services.tariff_assign(account=account, tariff=cheap, starts_on=date(2026, 1, 1))
    services.tariff_assign(account=account, tariff=dear, starts_on=date(2026, 9, 16))
    daily_readings(meter, date(2026, 9, 1), date(2026, 10, 1), per_day=10)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert [(k, q, a) for k, _, q, a in amounts(bill)] == [
        (LineKind.ENERGY, Decimal("150.0000"), Decimal("30.00")),
        (LineKind.ENERGY, Decimal("150.0000"), Decimal("45.00")),
        (LineKind.STANDING, Decimal("15"), Decimal("7.50")),
        (LineKind.STANDING, Decimal("15"), Decimal("9.00")),
        (LineKind.VAT, Decimal("91.50"), Decimal("4.58")),
    ]
    assert bill.total == Decimal("96.08")


def test_it_prorates_a_mid_month_change_to_time_of_use_by_half_hours(account, meter):
    flat = TariffFactory(name="Flat", rates=[{"unit_rate": "0.20"}])
    services.tariff_assign(account=account, tariff=flat, starts_on=date(2026, 1, 1))
    services.tariff_assign(account=account, tariff=economy7_tariff(), starts_on=date(2026, 9, 16))
    half_hourly(meter, date(2026, 9, 1), date(2026, 10, 1))

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    energy = {band: q for kind, band, q, _ in amounts(bill) if kind == LineKind.ENERGY}
    assert energy == {
        "Standard": Decimal(15 * 48),
        "Night": Decimal(15 * 14),
        "Day": Decimal(15 * 34),
    }


def test_it_estimates_missing_boundary_reads_by_interpolation(account, meter):
    TariffAssignmentFactory(account=account)
    readings, value, day = [], Decimal(1000), date(2026, 8, 31)
    while day <= date(2026, 10, 1):
        readings.append((local(day, time(12, 0)), value))  # noon reads only: no midnight read
        value += 10
        day += timedelta(days=1)
    ingest(meter, readings)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    read = bill.reads.get()
    assert (read.opening_quality, read.opening_kwh) == ("E", Decimal("1005.0000"))
    assert (read.closing_quality, read.closing_kwh) == ("E", Decimal("1305.0000"))
    assert read.opening_at == local(date(2026, 9, 1))
    assert read.consumption_kwh == Decimal("300.0000")
    assert "estimated by interpolation" in read.note
    assert "estimated by interpolation" in bill.notes


def test_it_bills_across_a_register_reset(account, meter):
    TariffAssignmentFactory(account=account)
    readings = [(local(date(2026, 9, d)), 5000 + 10 * (d - 1)) for d in range(1, 15)]
    readings.append((local(date(2026, 9, 15)), 0, True))
    readings += [(local(date(2026, 9, d)), 10 * (d - 15)) for d in range(16, 31)]
    readings.append((local(date(2026, 10, 1)), 160))
    ingest(meter, readings)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    read = bill.reads.get()
    assert (read.opening_kwh, read.closing_kwh) == (Decimal("5000.0000"), Decimal("160.0000"))
    assert read.register_resets == 1
    assert read.consumption_kwh == Decimal("290.0000")  # 13 days + (reset day: 0) + 16 days
    assert "reset" in read.note


def test_it_changes_nothing_when_the_month_is_run_again(account, meter):
    TariffAssignmentFactory(account=account)
    daily_readings(meter, date(2026, 9, 1), date(2026, 10, 1), per_day=10)
    _, first = services.bills_generate(month="2026-09")
    bill = Bill.objects.get()
    assert (first.created, first.issued, bill.state) == (1, 1, BillState.ISSUED)
    stamp, lines = bill.updated_at, amounts(bill)
    # Late readings arrive for the next month; the issued September bill must not move.
    daily_readings(meter, date(2026, 10, 2), date(2026, 10, 5), per_day=10, start=1310)

    _, again = services.bills_generate(month="2026-09")
    bill.refresh_from_db()

    assert (again.created, again.unchanged, Bill.objects.count()) == (0, 1, 1)
    assert (bill.updated_at, amounts(bill)) == (stamp, lines)
    same, action = services.bill_generate_for_month(account=account, month="2026-09")
    assert (same.pk, action) == (bill.pk, services.UNCHANGED)


def test_it_regenerates_a_draft_in_place(account, meter):
    TariffAssignmentFactory(account=account)
    daily_readings(meter, date(2026, 9, 1), date(2026, 9, 20), per_day=10)
    draft, _ = services.bill_generate_for_month(account=account, month="2026-09")
    daily_readings(meter, date(2026, 9, 21), date(2026, 10, 1), per_day=10, start=1200)

    again, action = services.bill_generate_for_month(account=account, month="2026-09")

    assert (again.pk, again.number, action) == (draft.pk, draft.number, services.REGENERATED)
    assert again.consumption_kwh == Decimal("300.0000")
    assert BillLine.objects.filter(bill=again).count() == 3


def test_it_voids_and_reissues_as_a_linked_correction(account, meter, staff):
    tariff = TariffFactory()
    TariffAssignmentFactory(account=account, tariff=tariff)
    daily_readings(meter, date(2026, 9, 1), date(2026, 10, 1), per_day=10)
    original, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    assert original.state == BillState.ISSUED
    with pytest.raises(Conflict):
        services.bill_issue(bill=original)
    services.tariff_update(tariff=tariff, standing_charge_per_day=Decimal("0.40"))

    correction = services.bill_correct(bill=original)
    original.refresh_from_db()
    assert (correction.state, correction.corrects_id) == (BillState.DRAFT, original.pk)
    assert original.state == BillState.ISSUED  # still valid until the correction is issued

    services.bill_issue(bill=correction)
    original.refresh_from_db()
    correction.refresh_from_db()
    assert original.state == BillState.VOID and correction.number in original.void_reason
    assert correction.state == BillState.ISSUED
    assert correction.difference == Decimal("-3.78")  # 30 days x 12p + 5% VAT, credited
    assert original.corrections.get() == correction


def test_it_makes_a_correction_when_a_void_month_is_generated_again(account, meter, staff):
    TariffAssignmentFactory(account=account)
    daily_readings(meter, date(2026, 9, 1), date(2026, 10, 1), per_day=10)
    original, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    with pytest.raises(ApplicationError):
        services.bill_void(bill=original, reason=" ", by=staff)
    services.bill_void(bill=original, reason="Wrong meter", by=staff)
    with pytest.raises(Conflict):
        services.bill_void(bill=original, reason="again", by=staff)

    fresh, action = services.bill_generate_for_month(account=account, month="2026-09")

    assert action == services.CREATED and fresh.corrects_id == original.pk
    assert fresh.number.endswith("-2")


def test_it_bills_standing_charge_only_and_flags_an_account_without_readings(account, meter):
    TariffAssignmentFactory(account=account)

    run, summary = services.bills_generate(month="2026-09")

    bill = Bill.objects.get()
    assert bill.needs_review and "No readings" in bill.notes
    assert bill.state == BillState.DRAFT  # staff review it before it is issued
    assert [(k, a) for k, _, _, a in amounts(bill)] == [
        (LineKind.STANDING, Decimal("15.60")),
        (LineKind.VAT, Decimal("0.78")),
    ]
    assert (summary.flagged, run.flagged, run.created) == (1, 1, 1)


def test_it_flags_an_account_without_a_tariff(account, meter):
    daily_readings(meter, date(2026, 9, 1), date(2026, 10, 1), per_day=10)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    assert bill.needs_review and "No tariff" in bill.notes
    assert bill.total == Decimal("0.00")


def test_it_refuses_a_month_that_has_not_ended(account):
    this_month = timezone.localdate().strftime("%Y-%m")
    with pytest.raises(ApplicationError, match="has not ended"):
        services.bills_generate(month=this_month)
    with pytest.raises(ApplicationError, match="has not ended"):
        services.bill_generate_for_month(account=account, month=this_month)
    assert not Bill.objects.exists()
    with pytest.raises(ApplicationError):
        services.bills_generate(month="2026-13")


def test_it_refuses_overlapping_tariff_assignments(account):
    tariff = TariffFactory()
    services.tariff_assign(
        account=account, tariff=tariff, starts_on=date(2026, 1, 1), ends_on=date(2026, 6, 30)
    )
    with pytest.raises(Conflict):
        services.tariff_assign(account=account, tariff=tariff, starts_on=date(2026, 6, 1))
    with pytest.raises(ApplicationError):
        services.tariff_assign(
            account=account, tariff=tariff, starts_on=date(2026, 8, 2), ends_on=date(2026, 8, 1)
        )
    services.tariff_assign(account=account, tariff=tariff, starts_on=date(2026, 7, 1))
    later = services.tariff_assign(account=account, tariff=tariff, starts_on=date(2026, 9, 1))
    assert account.tariff_assignments.get(starts_on=date(2026, 7, 1)).ends_on == date(2026, 8, 31)
    assert later.ends_on is None


def test_it_refuses_a_tariff_without_exactly_one_default_band():
    with pytest.raises(ApplicationError):
        services.tariff_create(
            name="Broken",
            standing_charge_per_day=Decimal("0.5"),
            valid_from=date(2026, 1, 1),
            rates=[
                services.RateIn(
                    band="Night",
                    unit_rate=Decimal("0.1"),
                    starts_at=time(0, 30),
                    ends_at=time(7, 30),
                )
            ],
        )


def test_it_estimates_both_ends_when_one_interval_spans_the_month(account, meter):
    TariffAssignmentFactory(account=account)
    ingest(meter, [(local(date(2026, 8, 31)), 1000), (local(date(2026, 10, 2)), 1320)])

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    read = bill.reads.get()
    assert (read.opening_quality, read.opening_kwh) == ("E", Decimal("1010.0000"))
    assert (read.closing_quality, read.closing_kwh) == ("E", Decimal("1310.0000"))
    assert read.consumption_kwh == Decimal("300.0000") and not bill.needs_review


def test_it_flags_a_meter_that_stopped_reading_before_the_month(account, meter):
    TariffAssignmentFactory(account=account)
    daily_readings(meter, date(2026, 8, 1), date(2026, 8, 20), per_day=10)

    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")

    read = bill.reads.get()
    assert bill.needs_review and read.consumption_kwh == 0
    assert read.closing_at == local(date(2026, 8, 20)) and "last reading so far" in read.note
    assert not bill.lines.filter(kind=LineKind.ENERGY).exists()
