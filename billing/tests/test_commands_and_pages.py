"""The generate_bills command, the beat job, portal pages, admin and the status section."""

from datetime import date
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from billing import services, tasks
from billing.models import Bill, BillRun, BillState
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from billing.tests.test_services import daily_readings
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(customer):
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account, tariff=TariffFactory())
    daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 10, 1), 10)
    return account


def test_it_generates_a_month_from_the_command_with_a_summary(account):
    other = CustomerAccountFactory()
    out, err = StringIO(), StringIO()
    call_command("generate_bills", "--month", "2026-09", stdout=out, stderr=err)
    assert "2 accounts" in out.getvalue() and "created 2" in out.getvalue()
    assert "flagged for review 1" in out.getvalue()  # the other account has no tariff
    assert "2/2 accounts" in err.getvalue()
    assert Bill.objects.get(account=account).state == BillState.ISSUED
    assert Bill.objects.get(account=other).state == BillState.DRAFT

    out = StringIO()
    call_command(
        "generate_bills", "--month", "2026-09", "--account", account.account_number, stdout=out
    )
    assert "created 0" in out.getvalue() and "unchanged (already issued) 1" in out.getvalue()
    assert Bill.objects.count() == 2
    with pytest.raises(CommandError, match="no account"):
        call_command("generate_bills", "--month", "2026-09", "--account", "NOPE", stdout=out)
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("generate_bills", "--month", "September", stdout=out)


def test_it_schedules_the_previous_month_on_the_first_at_two(
    account, monkeypatch, django_capture_on_commit_callbacks
):
    job = settings.CELERY_BEAT_SCHEDULE["billing-issue-previous-month"]
    assert job["task"] == "billing.tasks.bills_issue_previous_month"
    assert job["schedule"] == crontab(minute=0, hour=2, day_of_month=1)
    assert settings.CELERY_TIMEZONE == "Europe/London"
    monkeypatch.setattr(timezone, "localdate", lambda: date(2026, 10, 1))

    with django_capture_on_commit_callbacks(execute=True):  # the chunks' tasks, eagerly
        result = tasks.bills_issue_previous_month.delay().get()

    assert (result["accounts"], result["chunks"]) == (1, 1)
    run = BillRun.objects.get()
    assert (run.trigger, run.created, run.issued, run.progress) == ("beat", 1, 1, "finished")
    assert Bill.objects.get().month == date(2026, 9, 1)


def test_it_shows_my_bills_and_a_bill_page_and_pdf(client, customer, account):
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    client.force_login(customer)
    listing = client.get(reverse("billing:list"))
    assert bill.number in listing.content.decode()
    page = client.get(reverse("billing:detail", args=[bill.number]))
    assert page.status_code == 200
    assert f"£{bill.total}" in page.content.decode()
    download = client.get(reverse("billing:pdf", args=[bill.number]))
    assert download["Content-Type"] == "application/pdf"
    home = client.get(reverse("home"))
    assert "Your bills" in home.content.decode()

    stranger = UserFactory()
    CustomerAccountFactory(users=[stranger])
    client.force_login(stranger)
    assert client.get(reverse("billing:detail", args=[bill.number])).status_code == 404
    assert client.get(reverse("billing:pdf", args=[bill.number])).status_code == 404
    assert bill.number not in client.get(reverse("billing:list")).content.decode()


def test_it_keeps_the_review_flag_of_an_issued_bill_for_staff(client, customer, staff, account):
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    Bill.objects.filter(pk=bill.pk).update(needs_review=True)

    client.force_login(customer)
    assert "needs review" not in client.get(reverse("billing:list")).content.decode()
    client.force_login(staff)
    assert "needs review" in client.get(reverse("billing:list")).content.decode()


def test_it_shows_the_vat_line_as_its_rate_on_an_amount(client, customer, account):
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09", issue=True)
    client.force_login(customer)

    page = client.get(reverse("billing:detail", args=[bill.number])).content.decode()

    vat_row = next(row for row in page.split("<tr>") if "VAT at" in row)
    assert "GBP" not in vat_row
    assert f"£{bill.vat}" in vat_row


def test_it_hides_draft_bills_from_the_customer(client, customer, account):
    draft, _ = services.bill_generate_for_month(account=account, month="2026-09")
    client.force_login(customer)
    assert client.get(reverse("billing:detail", args=[draft.number])).status_code == 404


def test_it_runs_a_month_and_acts_on_bills_in_the_admin(
    client, staff, account, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    run_url = reverse("admin:billing_bill_run_month")
    assert client.get(run_url).status_code == 200
    refused = client.post(run_url, {"month": f"{timezone.localdate():%Y-%m}", "issue": "on"})
    assert "has not ended" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the chunk's task, eagerly
        started = client.post(run_url, {"month": "2026-09"}, follow=True)  # issue unticked
    assert "started on the workers (accounts: 1, chunks: 1)" in started.content.decode()
    assert "finished" in started.content.decode()  # the run's progress on Bill runs
    bill = Bill.objects.get()
    assert bill.state == BillState.DRAFT
    changelist = reverse("admin:billing_bill_changelist")
    assert client.get(changelist, {"month": "2026-09", "state": "draft"}).status_code == 200
    client.post(changelist, {"action": "regenerate_drafts", "_selected_action": [bill.pk]})
    client.post(changelist, {"action": "issue_bills", "_selected_action": [bill.pk]})
    bill.refresh_from_db()
    assert bill.state == BillState.ISSUED
    client.post(changelist, {"action": "void_bills", "_selected_action": [bill.pk]})
    bill.refresh_from_db()
    assert bill.state == BillState.VOID and staff.email in bill.void_reason
    assert client.get(reverse("admin:billing_bill_change", args=[bill.pk])).status_code == 200


def test_it_reports_the_last_bill_run_on_status(client, staff, account):
    services.bills_generate(month="2026-09")
    client.force_login(staff)
    response = client.get(reverse("status"), HTTP_ACCEPT="application/json")
    assert "billing" in response.content.decode() and "2026-09" in response.content.decode()


def test_it_adds_tariff_assignments_in_the_admin_through_the_overlap_rule(client, staff):
    from billing.models import TariffAssignment

    customer_account = CustomerAccountFactory()
    tariff = TariffFactory()
    client.force_login(staff)
    url = reverse("admin:billing_tariffassignment_add")
    form = {"account": customer_account.pk, "tariff": tariff.pk, "starts_on": "2026-01-01"}
    assert client.post(url, {**form, "ends_on": "2026-06-30"}).status_code == 302
    clash = client.post(url, {**form, "starts_on": "2026-03-01"})
    assert clash.status_code == 200 and "already on" in clash.content.decode()
    assert TariffAssignment.objects.count() == 1
