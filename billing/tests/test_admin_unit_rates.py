"""The price feed in the admin: a day set through the feed's one validator, the same refusals
as the API and the command, and the stored rates listed with filters."""

from decimal import Decimal

import pytest

from billing.models import HalfHourRate
from billing.tests.factories import TariffFactory, agile_tariff
from billing.tests.test_unit_rates import day_rates

pytestmark = pytest.mark.django_db

URL = "/admin/billing/halfhourrate/set-day/"


def post_day(client, tariff, lines: list[str], day="2026-01-15", direction="import"):
    return client.post(
        URL, {"tariff": tariff.pk, "direction": direction, "day": day, "rates": "\n".join(lines)}
    )


def test_it_sets_a_day_from_values_in_time_order_and_lists_them(client, staff):
    client.force_login(staff)
    agile = agile_tariff(name="Agile")
    answer = post_day(client, agile, [f"0.{10 + k}" for k in range(48)])
    assert answer.status_code == 302
    assert HalfHourRate.objects.filter(tariff=agile).count() == 48
    listed = client.get("/admin/billing/halfhourrate/", {"tariff__id__exact": agile.pk})
    assert listed.status_code == 200
    assert b"Set a day&#x27;s rates" in listed.content or b"Set a day's rates" in listed.content
    assert b"Thu 15 Jan 2026 00:00 GMT" in listed.content


def test_it_takes_valid_from_value_lines_in_any_order(client, staff):
    client.force_login(staff)
    agile = agile_tariff()
    lines = [f"{r['valid_from']},{r['value_exc_vat']}" for r in reversed(day_rates())]
    assert post_day(client, agile, lines).status_code == 302
    assert HalfHourRate.objects.count() == 48


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["0.10"] * 47, "2026-01-15 has 48 half-hours (local time); got 47."),
        (["0.10"] * 10 + ["-1.5"] + ["0.10"] * 37, "rates[10].value_exc_vat: -1.50000 per kWh"),
        (
            ["0.10"] * 10 + ["ten"] + ["0.10"] * 37,
            "rates[10].value_exc_vat: &#x27;ten&#x27; is not",
        ),
    ],
)
def test_it_shows_the_validators_refusal_on_the_form_and_stores_nothing(
    client, staff, lines, message
):
    client.force_login(staff)
    agile = agile_tariff()
    answer = post_day(client, agile, lines)
    assert answer.status_code == 200
    assert message.encode() in answer.content
    assert HalfHourRate.objects.count() == 0


def test_it_refuses_a_direction_the_tariff_does_not_price_half_hourly(client, staff):
    client.force_login(staff)
    agile = agile_tariff()
    answer = post_day(client, agile, ["0.10"] * 48, direction="export")
    assert answer.status_code == 200
    assert b"prices export without half-hourly rates" in answer.content


def test_it_offers_only_dynamic_tariffs_and_no_editing_of_single_half_hours(client, staff):
    client.force_login(staff)
    flat = TariffFactory()
    answer = post_day(client, flat, ["0.10"] * 48)
    assert b"Select a valid choice" in answer.content
    agile = agile_tariff()
    post_day(client, agile, ["0.10"] * 48)
    rate = HalfHourRate.objects.first()
    assert client.get(f"/admin/billing/halfhourrate/{rate.pk}/delete/").status_code == 403
    client.post(f"/admin/billing/halfhourrate/{rate.pk}/change/", {"value_exc_vat": "5"})
    rate.refresh_from_db()
    assert rate.value_exc_vat == Decimal("0.10")


def test_it_refuses_the_form_to_customers(client, customer):
    client.force_login(customer)
    answer = client.get(URL)
    assert answer.status_code == 302 and "/login/" in answer["Location"]
