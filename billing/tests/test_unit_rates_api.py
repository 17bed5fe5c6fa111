"""The price feed over HTTP: staff PUT a local day's rates, anyone logged in reads a public
tariff's rates in the Octopus shape."""

from datetime import date

import pytest

from accounts.tests.factories import UserFactory
from billing.models import HalfHourRate
from billing.tests.factories import TariffAssignmentFactory, agile_tariff
from billing.tests.test_unit_rates import day_rates

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 15)


def put_day(api, tariff, day=DAY, body=None):
    body = body if body is not None else {"rates": day_rates(day)}
    return api.put(f"/api/v1/tariffs/{tariff.code}/unit-rates/{day}", body, format="json")


def test_it_lets_staff_put_a_day_and_a_replay_answers_the_same(api, staff):
    agile = agile_tariff(code="agile-26")
    first = put_day(api.as_user(staff), agile)
    assert first.status_code == 200, first.json()
    body = first.json()
    assert (body["half_hours"], body["created"], body["changed"], body["unchanged"]) == (
        48,
        48,
        0,
        0,
    )
    assert body["results"][0] == {
        "value_exc_vat": "0.10000",
        "value_inc_vat": "0.10500",
        "valid_from": "2026-01-15T00:00:00Z",
        "valid_to": "2026-01-15T00:30:00Z",
    }
    again = put_day(api, agile).json()
    assert (again["created"], again["unchanged"]) == (0, 48)
    assert HalfHourRate.objects.count() == 48


def test_it_refuses_a_put_from_a_customer_and_changes_nothing(api, customer):
    agile = agile_tariff(is_public=True)
    answer = put_day(api.as_user(customer), agile)
    assert answer.status_code == 403
    assert HalfHourRate.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (lambda rates: rates[:47], "rates", "has 48 half-hours (local time); got 47"),
        (lambda rates: [*rates[:47], rates[0]], "rates[47].valid_from", "is given twice"),
        (
            lambda rates: [*rates[:7], {**rates[7], "value_exc_vat": -2}, *rates[8:]],
            "rates[7].value_exc_vat",
            "outside -1.00 to 10.00",
        ),
    ],
)
def test_it_answers_bad_feed_input_with_400_naming_field_and_rule(api, staff, change, field, rule):
    agile = agile_tariff()
    answer = put_day(api.as_user(staff), agile, body={"rates": change(day_rates())})
    assert answer.status_code == 400
    assert rule in answer.json()["fields"][field][0]
    assert answer.json()["detail"].startswith(field)
    assert HalfHourRate.objects.count() == 0


@pytest.mark.parametrize("day", ["2026-02-30", "15-01-2026", "tomorrow"])
def test_it_refuses_a_day_that_is_not_a_date(api, staff, day):
    agile = agile_tariff()
    answer = api.as_user(staff).put(
        f"/api/v1/tariffs/{agile.code}/unit-rates/{day}", {"rates": []}, format="json"
    )
    assert answer.status_code == 400
    assert "day" in answer.json()["fields"]


def test_it_answers_409_for_a_tariff_that_is_not_dynamic_for_export(api, staff):
    agile = agile_tariff()
    answer = put_day(api.as_user(staff), agile, body={"direction": "export", "rates": day_rates()})
    assert answer.status_code == 409
    assert answer.json()["fields"] == {"direction": [answer.json()["detail"]]}


def test_it_lists_rates_newest_first_in_the_octopus_shape_within_the_period(api, staff):
    agile = agile_tariff(is_public=True)
    put_day(api.as_user(staff), agile)
    reader = api.as_user(UserFactory())
    page = reader.get(
        f"/api/v1/tariffs/{agile.code}/unit-rates",
        {"period_from": "2026-01-15T10:00Z", "period_to": "2026-01-15T12:00Z"},
    )
    assert page.status_code == 200
    body = page.json()
    assert body["count"] == 4
    assert [r["valid_from"] for r in body["results"]] == [
        "2026-01-15T11:30:00Z",
        "2026-01-15T11:00:00Z",
        "2026-01-15T10:30:00Z",
        "2026-01-15T10:00:00Z",
    ]
    assert set(body["results"][0]) == {"value_exc_vat", "value_inc_vat", "valid_from", "valid_to"}
    paged = reader.get(f"/api/v1/tariffs/{agile.code}/unit-rates", {"page_size": 10}).json()
    assert paged["count"] == 48 and len(paged["results"]) == 10 and paged["next"]


def test_it_shows_a_private_tariff_only_to_staff_and_customers_on_it(api, customer):
    agile = agile_tariff()
    url = f"/api/v1/tariffs/{agile.code}/unit-rates"
    assert api.as_user(customer).get(url).status_code == 404
    TariffAssignmentFactory(account=customer.customer_accounts.get(), tariff=agile)
    assert api.as_user(customer).get(url).status_code == 200
    assert api.as_user(UserFactory()).get(url).status_code == 404
    api.credentials()
    assert api.get(url).status_code == 401


def test_it_refuses_a_backwards_period(api, staff):
    agile = agile_tariff()
    answer = api.as_user(staff).get(
        f"/api/v1/tariffs/{agile.code}/unit-rates",
        {"period_from": "2026-01-15T12:00Z", "period_to": "2026-01-15T10:00Z"},
    )
    assert answer.status_code == 400
    assert "period_to" in answer.json()["fields"]
