"""Charging sessions on the bill of a dynamic (agile-style) tariff: the session's energy in each
half-hour (by its energy register) at that half-hour's rate, what smart charging saved against
charging on plug-in (flex's figure) on the line, the page and the PDF; a half-hour without a
rate holds the bill, never prices at zero; a flat tariff's sessions are priced as before."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import BillState, HalfHourRate, LineKind
from billing.services.session_pricing import energy_per_half_hour
from billing.tests.factories import (
    TariffAssignmentFactory,
    TariffFactory,
    agile_tariff,
    half_hour_rates_store,
)
from billing.tests.test_export_credit import pdf_text
from billing.tests.test_services import half_hourly
from charging import services as charging_services
from charging.tests.factories import ChargerFactory
from flex import services as flex_services
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

FEB = date(2026, 2, 1)  # GMT all month: local half-hours are UTC half-hours
PLUGGED_IN = date(2026, 2, 10)
CHARGED = date(2026, 2, 11)
GOAL = {"ready_by": "07:00", "energy_wh": 10_000, "max_power_w": 7400}


def _at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 2, day, hh, mm, tzinfo=UTC)


def day_rates(day: date) -> list[Decimal]:
    """Per kWh before VAT. 10 Feb: 20p, 40p from 16:00 (the peak), 25p from 19:00. 11 Feb: 5p,
    6p and 7p in the first three half-hours, then 30p. Every other day 20p."""
    if day == PLUGGED_IN:
        return [Decimal("0.20")] * 32 + [Decimal("0.40")] * 6 + [Decimal("0.25")] * 10
    if day == CHARGED:
        return [Decimal("0.05"), Decimal("0.06"), Decimal("0.07")] + [Decimal("0.30")] * 45
    return [Decimal("0.20")] * 48


def feed_february(tariff, *, leave_out: datetime | None = None) -> None:
    for offset in range(28):
        day = FEB + timedelta(days=offset)
        half_hour_rates_store(tariff=tariff, day=day, values=day_rates(day))
    if leave_out is not None:
        HalfHourRate.objects.filter(tariff=tariff, valid_from=leave_out).delete()


def smart_session(charger):
    """Plugged in at 18:00 on 10 Feb (the peak), charged 10 kWh from 00:00 at 7.4 kW by the plan
    (3.7 + 3.7 kWh, then 2.6 kWh by 01:21), unplugged at 07:00."""
    started = charging_services.transaction_start(
        charger=charger,
        connector_id=1,
        id_tag="TAG1",
        meter_start=1000,
        timestamp=_at(10, 18).isoformat(),
    ).transaction
    for at, wh in (
        (_at(11, 0), 1000),
        (_at(11, 0, 30), 4700),
        (_at(11, 1), 8400),
        (_at(11, 1, 21), 11000),
    ):
        charging_services.meter_values_record(
            charger=charger,
            connector_id=1,
            transaction_id=started.pk,
            meter_value=[{"timestamp": at.isoformat(), "sampled_value": [{"value": str(wh)}]}],
        )
    charging_services.transaction_stop(
        charger=charger,
        transaction_id=started.pk,
        meter_stop=11000,
        timestamp=_at(11, 7).isoformat(),
    )
    started.refresh_from_db()
    return started


@pytest.fixture
def account(customer):
    return customer.customer_accounts.get()


@pytest.fixture
def smart_charger(account):
    """The account's charger under a smart-charging goal, with meter readings for February (half
    a kWh every half-hour)."""
    half_hourly(MeterFactory(account=account), FEB, date(2026, 3, 1), per_half_hour=Decimal("0.5"))
    charger = ChargerFactory(account=account)
    flex_services.goal_set(charger=charger, now=_at(10, 17), **GOAL)
    return charger


def charging_lines(bill):
    return [
        (line.charging_transaction_id, line.quantity, line.unit, line.unit_price, line.amount)
        for line in bill.lines.filter(kind=LineKind.CHARGING).order_by("position")
    ]


def test_an_agile_session_is_priced_per_half_hour_and_says_what_smart_charging_saved(
    account, smart_charger, client, customer
):
    # A charging rate and a session fee on the tariff: the rate is not used on a dynamic tariff,
    # the fee is.
    tariff = agile_tariff(
        name="Agile", charging_rate_per_kwh=Decimal("0.22"), charging_fee_per_session=Decimal("0.5")
    )
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_february(tariff)
    session = smart_session(smart_charger)

    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)

    assert bill.state == BillState.ISSUED and not bill.needs_review, bill.notes
    # 3.7 kWh at 5p + 3.7 kWh at 6p + 2.6 kWh at 7p = 18.5p + 22.2p + 18.2p = 58.9p: £0.59,
    # an average of 5.89p over the 10 kWh.
    assert charging_lines(bill) == [
        (session.pk, Decimal("10.0000"), "kWh", Decimal("0.05890"), Decimal("0.59")),
        (session.pk, Decimal("1.0000"), "session", Decimal("0.50000"), Decimal("0.50")),
    ]
    # Flex's figure, with VAT: charging on plug-in at 18:00 at 7.4 kW takes 3.7 + 3.7 kWh at the
    # 42p peak and 2.6 kWh at 26.25p from 19:00: 379.05p; the plan cost 3.7 * 5.25p + 3.7 *
    # 6.3p + 2.6 * 7.35p = 61.845p; saved 317.205p, £3.17.
    [outcome] = flex_services.session_outcomes(goal=smart_charger.flex_goal)
    assert outcome.saved_pence == Decimal("317.205")
    description = (
        f"Charging session #{session.pk} on {smart_charger.charge_point_id}, 11 Feb: 10 kWh "
        "over 3 half-hours at their own rates (average 0.0589/kWh); smart charging saved £3.17 "
        "inc VAT against charging on plug-in"
    )
    energy_line = bill.lines.get(kind=LineKind.CHARGING, unit="kWh")
    assert (energy_line.description, energy_line.band) == (description, "Half-hourly")
    # The month: 26 days of 24 kWh at 20p (£4.80 each); 10 Feb 16 kWh at 20p, 3 at 40p and 5 at
    # 25p (£5.65); 11 Feb 0.5 kWh at 5p, 6p, 7p and 22.5 at 30p (£6.84). Standing 28 * 52p.
    energy = 26 * Decimal("4.80") + Decimal("5.65") + Decimal("6.84")
    subtotal = energy + 28 * Decimal("0.52") + Decimal("0.59") + Decimal("0.50")
    assert (bill.subtotal, bill.vat) == (subtotal, Decimal("7.65"))  # 5 % of £152.94 = 7.647
    assert bill.total == Decimal("160.59")

    client.force_login(customer)
    page = client.get(reverse("billing:detail", args=[bill.number])).content.decode()
    assert description in page
    pdf = pdf_text(client.get(reverse("billing:pdf", args=[bill.number])).content)
    assert description in " ".join(pdf.split())  # the PDF wraps it over lines


def test_each_smart_session_on_the_bill_has_its_own_saving(account, smart_charger):
    """Two sessions: flex reads the household's prices once for both, and each line still says
    that session's own saving."""
    tariff = agile_tariff(name="Agile")
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_february(tariff)
    # 3 kWh from 15:00 on 10 Feb, as fast as charging on plug-in would: no saving.
    early = charging_services.transaction_start(
        charger=smart_charger,
        connector_id=1,
        id_tag="T",
        meter_start=0,
        timestamp=_at(10, 15).isoformat(),
    ).transaction
    charging_services.meter_values_record(
        charger=smart_charger,
        connector_id=1,
        transaction_id=early.pk,
        meter_value=[
            {"timestamp": _at(10, 15, 20).isoformat(), "sampled_value": [{"value": "3000"}]}
        ],
    )
    charging_services.transaction_stop(
        charger=smart_charger,
        transaction_id=early.pk,
        meter_stop=3000,
        timestamp=_at(10, 15, 40).isoformat(),
    )
    late = smart_session(smart_charger)

    bill, _ = services.bill_generate_for_month(account=account, month=FEB)

    lines = {
        line.charging_transaction_id: line for line in bill.lines.filter(kind=LineKind.CHARGING)
    }
    assert lines[early.pk].amount == Decimal("0.60")  # 3 kWh at 20p
    assert lines[early.pk].description.endswith(
        ": 3 kWh over 1 half-hour at their own rates (average 0.2/kWh); smart charging cost the "
        "same as charging on plug-in"
    )
    assert lines[late.pk].amount == Decimal("0.59")
    assert lines[late.pk].description.endswith(
        "smart charging saved £3.17 inc VAT against charging on plug-in"
    )


def test_a_session_that_was_not_smart_charged_is_priced_per_half_hour_without_a_saving(account):
    tariff = agile_tariff(name="Agile")
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_february(tariff)
    session = smart_session(ChargerFactory(account=account))  # no goal on this charger

    bill, _ = services.bill_generate_for_month(account=account, month=FEB)

    assert charging_lines(bill) == [
        (session.pk, Decimal("10.0000"), "kWh", Decimal("0.05890"), Decimal("0.59"))
    ]
    line = bill.lines.get(kind=LineKind.CHARGING)
    assert line.description.endswith("over 3 half-hours at their own rates (average 0.0589/kWh)")


def test_a_missing_rate_during_the_session_flags_the_bill_until_the_feed_has_it(
    account, smart_charger
):
    tariff = agile_tariff(name="Agile", charging_fee_per_session=Decimal("0.5"))
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_february(tariff, leave_out=_at(11, 0, 30))
    session = smart_session(smart_charger)

    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)

    assert bill.state == BillState.DRAFT and bill.needs_review
    assert (
        f"Charging session #{session.pk} on {smart_charger.charge_point_id}, 11 Feb: no import "
        "rate yet for 1 half-hour(s) of the session (from 11 Feb 00:30); not charged until the "
        "price feed has them."
    ) in bill.notes
    assert charging_lines(bill) == []  # never at zero, nor the fee without the energy

    HalfHourRate.objects.create(
        tariff=tariff, direction="import", valid_from=_at(11, 0, 30), value_exc_vat="0.06"
    )
    bill, action = services.bill_generate_for_month(account=account, month=FEB, issue=True)
    bill.refresh_from_db()

    assert (action, bill.state, bill.needs_review) == ("regenerated", BillState.ISSUED, False)
    assert [line[4] for line in charging_lines(bill)] == [Decimal("0.59"), Decimal("0.50")]


def test_a_session_started_before_the_months_rates_reads_its_earlier_half_hours(account):
    """A session stopping on 1 Feb that began on 30 Jan: its half-hours before the month's feed
    are read from the store."""
    tariff = agile_tariff(name="Agile")
    TariffAssignmentFactory(account=account, tariff=tariff, starts_on=date(2026, 1, 1))
    feed_february(tariff)
    half_hour_rates_store(tariff=tariff, day=date(2026, 1, 30), values=[Decimal("0.10")] * 48)
    charger = ChargerFactory(account=account)
    started = charging_services.transaction_start(
        charger=charger, connector_id=1, id_tag="T", meter_start=0, timestamp="2026-01-30T10:00Z"
    ).transaction
    charging_services.meter_values_record(
        charger=charger,
        connector_id=1,
        transaction_id=started.pk,
        meter_value=[{"timestamp": "2026-01-30T11:00Z", "sampled_value": [{"value": "4000"}]}],
    )
    charging_services.transaction_stop(
        charger=charger, transaction_id=started.pk, meter_stop=4000, timestamp="2026-02-01T01:00Z"
    )

    bill, _ = services.bill_generate_for_month(account=account, month=FEB)

    # 2 kWh in each of 10:00 and 10:30 on 30 Jan at 10p: 40p.
    assert charging_lines(bill) == [
        (started.pk, Decimal("4.0000"), "kWh", Decimal("0.10000"), Decimal("0.40"))
    ]


def test_a_flat_tariff_session_is_priced_at_its_charging_rate_as_before(account, smart_charger):
    tariff = TariffFactory(charging_rate_per_kwh=Decimal("0.25"))
    TariffAssignmentFactory(account=account, tariff=tariff)
    session = smart_session(smart_charger)

    bill, _ = services.bill_generate_for_month(account=account, month=FEB, issue=True)

    assert charging_lines(bill) == [
        (session.pk, Decimal("10.0000"), "kWh", Decimal("0.25000"), Decimal("2.50"))
    ]
    assert bill.lines.get(kind=LineKind.CHARGING).description == (
        f"Charging session #{session.pk} on {smart_charger.charge_point_id}, 11 Feb: 10 kWh"
    )


def test_a_register_is_spread_linearly_over_the_half_hours_it_crosses():
    points = [
        (_at(11, 0, 15), Decimal(0)),
        (_at(11, 1, 15), Decimal(3000)),  # 1.5 kWh an hour: 0.75 kWh either side of 00:30...
        (_at(11, 1, 20), Decimal(3000)),
        (_at(11, 1, 20), Decimal(3600)),  # a jump with no time between: in its half-hour
    ]
    assert energy_per_half_hour(points) == {
        _at(11, 0): Decimal("0.75"),
        _at(11, 0, 30): Decimal("1.5"),
        _at(11, 1): Decimal("1.35"),
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6 * 3600), st.integers(0, 5000)), min_size=2, max_size=8).map(
        sorted
    )
)
def test_the_half_hours_add_up_to_the_registers_energy(steps):
    """Whatever the samples, every half-hour's share is positive and they sum to the energy."""
    start = _at(11, 0, 7)
    points, wh = [], Decimal(0)
    for seconds, more in steps:
        wh += more
        points.append((start + timedelta(seconds=seconds), wh))
    parts = energy_per_half_hour(points)
    assert all(kwh > 0 for kwh in parts.values())
    assert all(slot.minute in (0, 30) and slot.second == 0 for slot in parts)
    total = (points[-1][1] - points[0][1]) / 1000
    assert abs(sum(parts.values(), Decimal(0)) - total) < Decimal("1e-20")


def test_a_long_charger_id_is_shortened_before_the_saving_is(account):
    half_hourly(MeterFactory(account=account), FEB, date(2026, 3, 1), per_half_hour=Decimal("0.5"))
    charger = ChargerFactory(account=account, charge_point_id="CP-" + "9" * 45)  # 48, the most
    flex_services.goal_set(charger=charger, now=_at(10, 17), **GOAL)
    tariff = agile_tariff(name="Agile")
    TariffAssignmentFactory(account=account, tariff=tariff)
    feed_february(tariff)
    smart_session(charger)

    bill, _ = services.bill_generate_for_month(account=account, month=FEB)

    description = bill.lines.get(kind=LineKind.CHARGING).description
    assert len(description) == 200
    assert description.startswith("Charging session #") and "CP-999" in description
    assert description.endswith(
        "…, 11 Feb: 10 kWh over 3 half-hours at their own rates (average 0.0589/kWh); smart "
        "charging saved £3.17 inc VAT against charging on plug-in"
    )
