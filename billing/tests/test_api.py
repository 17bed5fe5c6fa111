"""The billing API: who sees what, the one-call last month's bill, CSV, PDF, staff actions."""

import csv
import io
from datetime import date, datetime, time

import pytest
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from billing import services
from billing.models import Bill, BillState
from billing.tests.factories import TariffAssignmentFactory, TariffFactory, economy7_tariff
from billing.tests.test_services import daily_readings
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


def last_month() -> date:
    return services.previous_month(timezone.localdate())


@pytest.fixture
def billed(customer):
    """The customer's account billed (issued) for last month: 10 kWh a day on 28p + 52p/day."""
    account = customer.customer_accounts.get()
    meter = MeterFactory(account=account)
    TariffAssignmentFactory(account=account, tariff=TariffFactory())
    first = last_month()
    daily_readings(meter, first, services.next_month(first), per_day=10)
    bill, _ = services.bill_generate_for_month(account=account, month=first, issue=True)
    return bill


def test_it_lets_anyone_read_tariffs_and_only_staff_write_them(api, customer, staff):
    economy7_tariff(name="Economy 7")
    listed = api.get("/api/v1/tariffs")
    assert listed.status_code == 200
    [tariff] = listed.json()["results"]
    assert {rate["band"]: rate["window"] for rate in tariff["rates"]} == {
        "Day": "standard",
        "Night": "cheap",
    }
    body = {
        "name": "Flat 2027",
        "standing_charge_per_day": "0.55",
        "valid_from": "2027-01-01",
        "rates": [{"band": "Standard", "unit_rate": "0.27"}],
    }
    assert api.as_user(customer).post("/api/v1/tariffs", body).status_code == 403
    created = api.as_user(staff).post("/api/v1/tariffs", body)
    assert created.status_code == 201, created.json()
    assert created.json()["vat_rate"] == "0.0500"
    broken = api.post("/api/v1/tariffs", {**body, "name": "No default", "rates": []})
    assert broken.status_code == 400 and "default band" in broken.json()["detail"]
    duplicate = api.post("/api/v1/tariffs", body)
    assert duplicate.status_code == 400 and "name" in duplicate.json()["fields"]
    changed = api.patch(
        f"/api/v1/tariffs/{created.json()['id']}", {"standing_charge_per_day": "0.60"}
    )
    assert changed.status_code == 200 and changed.json()["standing_charge_per_day"] == "0.60000"


def test_it_assigns_tariffs_and_answers_the_current_one(api, customer, staff):
    account = customer.customer_accounts.get()
    tariff = TariffFactory(name="Flat")
    assign = {"account_number": account.account_number, "tariff": tariff.pk}
    assert api.as_user(customer).post("/api/v1/tariff-assignments", assign).status_code == 403
    url = f"/api/v1/accounts/{account.account_number}/tariff"
    assert api.get(url).status_code == 404  # no tariff yet
    made = api.as_user(staff).post(
        "/api/v1/tariff-assignments", {**assign, "starts_on": "2026-01-01"}
    )
    assert made.status_code == 201, made.json()
    clash = api.post(
        "/api/v1/tariff-assignments",
        {**assign, "starts_on": "2025-12-01", "ends_on": "2026-02-01"},
    )
    assert clash.status_code == 409
    assert api.as_user(customer).get(url).json()["name"] == "Flat"
    stranger = UserFactory()
    CustomerAccountFactory(users=[stranger])
    assert api.as_user(stranger).get(url).status_code == 404


def test_it_shows_customers_only_their_own_issued_bills(api, customer, billed, staff):
    other = UserFactory()
    CustomerAccountFactory(users=[other])
    mine = api.as_user(customer).get("/api/v1/bills")
    assert [bill["number"] for bill in mine.json()["results"]] == [billed.number]
    assert api.as_user(other).get("/api/v1/bills").json()["results"] == []
    for path in ("", "/invoice.pdf"):
        assert api.as_user(other).get(f"/api/v1/bills/{billed.number}{path}").status_code == 404
    services.bill_correct(bill=billed)  # a draft correction: staff see it, the customer not
    assert len(api.as_user(customer).get("/api/v1/bills").json()["results"]) == 1
    assert len(api.as_user(staff).get("/api/v1/bills").json()["results"]) == 2
    detail = api.as_user(customer).get(f"/api/v1/bills/{billed.number}").json()
    assert detail["total"] == str(billed.total)
    assert [line["kind"] for line in detail["lines"]] == ["energy", "standing", "vat"]
    assert detail["reads"][0]["opening_quality"] == "A"


def test_it_answers_last_months_bill_in_one_call(api, customer, billed, staff):
    meter = billed.account.meters.get()
    mine = api.as_user(customer).get("/api/v1/bills/last-month")
    assert mine.status_code == 200 and mine.json()["number"] == billed.number
    by_meter = api.as_user(staff).get(f"/api/v1/bills/last-month?meter={meter.meter_id}")
    assert by_meter.json()["number"] == billed.number
    assert api.get("/api/v1/bills/last-month").status_code == 400  # staff must say whose
    other = UserFactory()
    CustomerAccountFactory(users=[other])
    assert api.as_user(other).get("/api/v1/bills/last-month").status_code == 404
    foreign = api.get(f"/api/v1/bills/last-month?meter={meter.meter_id}")
    assert foreign.status_code == 404


def test_it_exports_bills_as_csv(api, customer, billed):
    response = api.as_user(customer).get(f"/api/v1/bills/export.csv?month={last_month():%Y-%m}")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["number"], row["total"], row["state"]) for row in rows] == [
        (billed.number, str(billed.total), "issued")
    ]
    assert api.get("/api/v1/bills/export.csv?month=2026-1").status_code == 400


def test_it_serves_a_pdf_invoice(api, customer, billed):
    response = api.as_user(customer).get(f"/api/v1/bills/{billed.number}/invoice.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and len(response.content) > 2000


def test_it_lets_staff_void_correct_and_issue(api, customer, billed, staff):
    base = f"/api/v1/bills/{billed.number}"
    assert api.as_user(customer).post(f"{base}/void", {"reason": "x"}).status_code == 403
    api.as_user(staff)
    assert api.post(f"{base}/issue").status_code == 409
    correction = api.post(f"{base}/correct")
    assert correction.status_code == 201 and correction.json()["corrects"] == billed.number
    issued = api.post(f"/api/v1/bills/{correction.json()['number']}/issue")
    assert issued.status_code == 200 and issued.json()["state"] == "issued"
    assert api.get(base).json()["state"] == "void"
    assert api.post(f"{base}/void", {"reason": "again"}).status_code == 409
    assert api.post(f"{base}/void", {}).status_code == 400


def test_it_runs_a_month_for_staff_only(api, customer, billed, staff):
    month = f"{last_month():%Y-%m}"
    assert api.as_user(customer).post("/api/v1/bills/runs", {"month": month}).status_code == 403
    again = api.as_user(staff).post("/api/v1/bills/runs", {"month": month})
    assert again.status_code == 200
    assert (again.json()["unchanged"], again.json()["created"]) == (1, 0)
    current = f"{timezone.localdate():%Y-%m}"
    assert api.post("/api/v1/bills/runs", {"month": current}).status_code == 400
    assert Bill.objects.filter(state=BillState.ISSUED).count() == 1


def test_it_tells_batteries_the_tariff_window(customer):
    from billing.selectors import tariff_window_at

    account = customer.customer_accounts.get()
    assert tariff_window_at(account=account, at=timezone.now()) is None
    TariffAssignmentFactory(account=account, tariff=economy7_tariff())
    london = timezone.get_default_timezone()
    night = datetime.combine(date(2026, 7, 1), time(1, 0), tzinfo=london)
    day = datetime.combine(date(2026, 7, 1), time(12, 0), tzinfo=london)
    edge = datetime.combine(date(2026, 7, 1), time(7, 30), tzinfo=london)
    assert tariff_window_at(account=account, at=night) == "cheap"
    assert tariff_window_at(account=account, at=day) == "standard"
    assert tariff_window_at(account=account, at=edge) == "standard"
