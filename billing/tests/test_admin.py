"""The admin keeps the billing services' rules: a tariff's bands are checked together as the API
checks them, and an assignment changed in the admin cannot overlap another."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.tests.factories import CustomerAccountFactory
from billing import services
from billing.models import Tariff, TariffAssignment

from .factories import TariffFactory

pytestmark = pytest.mark.django_db

TARIFF = {
    "name": "Night Saver",
    "currency": "GBP",
    "vat_rate": "0.0500",
    "standing_charge_per_day": "0.52",
    "valid_from": "2026-01-01",
    "assignments-TOTAL_FORMS": "0",
    "assignments-INITIAL_FORMS": "0",
}


def _rates(*bands: dict, initial: int = 0) -> dict:
    form = {"rates-TOTAL_FORMS": str(len(bands)), "rates-INITIAL_FORMS": str(initial)}
    for n, band in enumerate(bands):
        row = {
            "kind": "standard",
            "days": "1234567",
            "priority": "0",
            "starts_at": "",
            "ends_at": "",
        }
        form |= {f"rates-{n}-{name}": value for name, value in (row | band).items()}
    return form


NIGHT = {"band": "Night", "unit_rate": "0.09", "starts_at": "00:30", "ends_at": "07:30"}
DAY = {"band": "Day", "unit_rate": "0.30"}


def test_it_refuses_a_tariff_without_a_default_band_as_the_service_does(client, staff):
    client.force_login(staff)

    response = client.post("/admin/billing/tariff/add/", TARIFF | _rates(NIGHT))

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert "exactly one default band" in " ".join(errors)
    assert not Tariff.objects.exists()
    with pytest.raises(services.ApplicationError, match="exactly one default band"):
        services.tariff_rates_check(
            [services.RateIn(band="Night", unit_rate=Decimal("0.09"), starts_at=1, ends_at=2)]
        )


def test_it_refuses_two_default_bands(client, staff):
    client.force_login(staff)

    response = client.post(
        "/admin/billing/tariff/add/", TARIFF | _rates(DAY, DAY | {"band": "Other"})
    )

    assert response.status_code == 200 and not Tariff.objects.exists()


def test_it_adds_a_tariff_with_its_bands_through_the_service(client, staff):
    client.force_login(staff)

    response = client.post("/admin/billing/tariff/add/", TARIFF | _rates(DAY, NIGHT))

    assert response.status_code == 302, response.content.decode()[:3000]
    tariff = Tariff.objects.get(name="Night Saver")
    assert sorted(tariff.rates.values_list("band", flat=True)) == ["Day", "Night"]


def test_it_refuses_deleting_a_tariffs_default_band_in_the_change_form(client, staff):
    tariff = TariffFactory(rates=[DAY | {"unit_rate": Decimal("0.30")}])
    day = tariff.rates.get()
    client.force_login(staff)
    form = TARIFF | {"name": tariff.name} | _rates(DAY, initial=1)
    form |= {"rates-0-id": str(day.pk), "rates-0-tariff": str(tariff.pk), "rates-0-DELETE": "on"}

    response = client.post(f"/admin/billing/tariff/{tariff.pk}/change/", form)

    assert response.status_code == 200
    assert list(tariff.rates.values_list("band", flat=True)) == ["Day"]


def _assignment_form(assignment, **overrides) -> dict:
    return {
        "account": str(assignment.account_id),
        "tariff": str(assignment.tariff_id),
        "starts_on": str(assignment.starts_on),
        "ends_on": str(assignment.ends_on or ""),
    } | overrides


def test_it_refuses_an_assignment_changed_to_overlap_another(client, staff):
    account = CustomerAccountFactory()
    tariff = TariffFactory()
    first = services.tariff_assign(
        account=account, tariff=tariff, starts_on=date(2026, 1, 1), ends_on=date(2026, 3, 31)
    )
    services.tariff_assign(account=account, tariff=tariff, starts_on=date(2026, 4, 1))
    client.force_login(staff)

    response = client.post(
        f"/admin/billing/tariffassignment/{first.pk}/change/",
        _assignment_form(first, ends_on="2026-06-30"),
    )

    assert response.status_code == 200
    assert "already on" in " ".join(response.context["adminform"].form.errors["starts_on"])
    first.refresh_from_db()
    assert first.ends_on == date(2026, 3, 31)


def test_it_saves_an_assignment_change_that_overlaps_nothing(client, staff):
    account = CustomerAccountFactory()
    first = services.tariff_assign(
        account=account,
        tariff=TariffFactory(),
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 3, 31),
    )
    client.force_login(staff)

    response = client.post(
        f"/admin/billing/tariffassignment/{first.pk}/change/",
        _assignment_form(first, ends_on="2026-02-28"),
    )

    assert response.status_code == 302
    assert TariffAssignment.objects.get(pk=first.pk).ends_on == date(2026, 2, 28)
