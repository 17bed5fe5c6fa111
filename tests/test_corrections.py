"""Corrections of stored readings (issue #19): staff amend or void a reading named by (meter,
at); the original is kept, roll-ups recompute, bills are corrected or regenerated."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import PASSWORD, AnalystFactory
from billing import services as billing
from billing.models import Bill, BillState
from billing.tests.factories import TariffAssignmentFactory
from meters.models import CorrectionAction, DailyUsage, Reading, ReadingCorrection
from meters.services import ReadingIn, reading_ingest_bulk
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
OCT_1 = datetime(2026, 10, 1, tzinfo=LONDON)  # 2026-09-30T23:00:00Z
SEP_15 = datetime(2026, 9, 15, tzinfo=LONDON)


@pytest.fixture
def account(customer):
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account)  # 28p/kWh, 52p/day, 5% VAT
    return account


@pytest.fixture
def meter(account):
    """A reading at every local midnight of September 2026 and 1 October, 10 kWh a day."""
    meter = MeterFactory(account=account)
    items, day, value = [], date(2026, 9, 1), Decimal(1000)
    while day <= date(2026, 10, 1):
        items.append(
            ReadingIn(
                meter_id=meter.meter_id,
                at=datetime.combine(day, datetime.min.time(), tzinfo=LONDON),
                import_kwh=value,
            )
        )
        day, value = day + timedelta(days=1), value + 10
    assert {r.status for r in reading_ingest_bulk(items=items, source="api")} == {"accepted"}
    return meter


def correction_url(meter, at: datetime) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"/api/v1/meters/{meter.meter_id}/readings/{stamp}/correction"


def test_a_correction_of_an_issued_bills_reading_drafts_a_correction_bill(
    api, staff, account, meter
):
    issued, _ = billing.bill_generate_for_month(account=account, month="2026-09", issue=True)
    assert issued.state == BillState.ISSUED and issued.consumption_kwh == Decimal(300)

    response = api.as_user(staff).post(
        correction_url(meter, OCT_1),
        {"action": "amend", "import_kwh": "1310", "reason": "Misread: photo shows 1310"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    record = response.json()
    [touched] = record["bills"]
    correction = Bill.objects.get(number=touched["number"])
    assert (correction.state, correction.corrects, touched["corrects"]) == (
        BillState.DRAFT,
        issued,
        issued.number,
    )
    assert correction.consumption_kwh == Decimal(310)
    # 10 kWh more at 28p, plus 5% VAT: 2.80 + 0.14.
    assert correction.total - issued.total == Decimal("2.94") == Decimal(touched["difference"])
    issued.refresh_from_db()
    assert issued.state == BillState.ISSUED  # stands until staff issue the correction
    audit = ReadingCorrection.objects.get()
    assert (audit.meter, audit.at, audit.action, audit.made_by) == (
        meter,
        OCT_1,
        CorrectionAction.AMEND,
        staff,
    )
    assert (audit.old_import_kwh, audit.new_import_kwh, audit.reason) == (
        Decimal(1300),
        Decimal(1310),
        "Misread: photo shows 1310",
    )
    assert DailyUsage.objects.get(meter=meter, day=date(2026, 9, 30)).import_kwh == Decimal(20)
    assert Reading.objects.get(meter=meter, at=OCT_1).import_kwh == Decimal(1310)


def test_a_correction_regenerates_a_draft_bill_in_place(staff, account, meter):
    from meters.services import reading_amend

    draft, _ = billing.bill_generate_for_month(account=account, month="2026-09")

    record = reading_amend(meter=meter, at=OCT_1, user=staff, reason="Misread", import_kwh="1290")

    draft.refresh_from_db()
    assert draft.state == BillState.DRAFT and draft.consumption_kwh == Decimal(290)
    assert record.bills == [
        {"number": draft.number, "month": "2026-09-01", "action": "draft regenerated"}
    ]
    assert Bill.objects.count() == 1


def test_a_void_removes_the_reading_keeps_it_in_the_audit_and_recomputes_the_days(
    api, staff, meter
):
    response = api.as_user(staff).post(
        correction_url(meter, SEP_15),
        {"action": "void", "reason": "Duplicate read from a faulty head"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert not Reading.objects.filter(meter=meter, at=SEP_15).exists()
    audit = ReadingCorrection.objects.get()
    assert (audit.action, audit.old_import_kwh, audit.new_import_kwh) == (
        CorrectionAction.VOID,
        Decimal(1140),
        None,
    )
    assert audit.days_recomputed == ["2026-09-14", "2026-09-15"]
    assert not DailyUsage.objects.filter(meter=meter, day=date(2026, 9, 14)).exists()
    merged = DailyUsage.objects.get(meter=meter, day=date(2026, 9, 15))
    assert (merged.import_kwh, merged.has_gap) == (Decimal(20), True)
    history = api.get(correction_url(meter, SEP_15)).json()
    assert [entry["action"] for entry in history] == ["void"]


def test_an_amendment_that_breaks_the_register_rule_changes_nothing(api, staff, account, meter):
    issued, _ = billing.bill_generate_for_month(account=account, month="2026-09", issue=True)

    response = api.as_user(staff).post(
        correction_url(meter, SEP_15),
        {"action": "amend", "import_kwh": "1100", "reason": "typo"},
        format="json",
    )

    assert response.status_code == 400 and list(response.json()["fields"]) == ["import_kwh"]
    assert "went down from 1130" in response.json()["detail"]
    assert Reading.objects.get(meter=meter, at=SEP_15).import_kwh == Decimal(1140)
    assert not ReadingCorrection.objects.exists()
    assert list(Bill.objects.all()) == [issued]


def test_a_correction_needs_a_reason_and_a_stored_reading(api, staff, meter):
    client = api.as_user(staff)

    no_reason = client.post(correction_url(meter, SEP_15), {"action": "void", "reason": " "})
    missing = client.post(
        correction_url(meter, SEP_15 + timedelta(minutes=30)), {"action": "void", "reason": "x"}
    )

    assert no_reason.status_code == 400 and list(no_reason.json()["fields"]) == ["reason"]
    assert missing.status_code == 404
    assert Reading.objects.filter(meter=meter).count() == 31


def test_customers_and_analysts_cannot_correct_readings(api, customer, meter):
    for user in (customer, AnalystFactory()):
        client = api.as_user(user)
        response = client.post(correction_url(meter, SEP_15), {"action": "void", "reason": "x"})
        listing = client.get(correction_url(meter, SEP_15))
        assert (response.status_code, listing.status_code) == (403, 403)
    assert Reading.objects.filter(meter=meter, at=SEP_15).exists()
    assert not ReadingCorrection.objects.exists()


def test_the_readings_admin_page_corrects_it_and_shows_the_bills_it_touched(
    client, staff, account, meter
):
    issued, _ = billing.bill_generate_for_month(account=account, month="2026-09", issue=True)
    client.login(email=staff.email, password=PASSWORD)
    page = f"/admin/meters/readingcorrection/reading/{meter.meter_id}/2026-09-30T23:00:00Z/"

    response = client.post(
        page, {"action": "amend", "import_kwh": "1305", "register_reset": "", "reason": "Misread"}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    correction = Bill.objects.get(corrects=issued)
    shown = client.get(page).content.decode()
    assert correction.number in shown and "Misread" in shown and "1305" in shown
    listing = client.get("/admin/meters/readingcorrection/").content.decode()
    assert correction.number in listing


def test_only_the_months_whose_energy_changed_get_corrections(staff, account, meter):
    from meters.services import reading_amend

    items, day, value = [], date(2026, 10, 2), Decimal(1310)
    while day <= date(2026, 11, 1):
        at = datetime.combine(day, datetime.min.time(), tzinfo=LONDON)
        items.append(ReadingIn(meter_id=meter.meter_id, at=at, import_kwh=value))
        day, value = day + timedelta(days=1), value + 10
    assert {r.status for r in reading_ingest_bulk(items=items, source="api")} == {"accepted"}
    september, _ = billing.bill_generate_for_month(account=account, month="2026-09", issue=True)
    october, _ = billing.bill_generate_for_month(account=account, month="2026-10", issue=True)
    oct_15 = datetime(2026, 10, 15, tzinfo=LONDON)

    inside = reading_amend(meter=meter, at=oct_15, user=staff, reason="x", import_kwh="1445")
    boundary = reading_amend(meter=meter, at=OCT_1, user=staff, reason="y", import_kwh="1305")

    assert [bill["corrects"] for bill in inside.bills] == [october.number]
    assert sorted(bill["corrects"] for bill in boundary.bills) == sorted(
        [september.number, october.number]
    )
    # 5 kWh moved from October to September: +1.47 on one, -1.47 on the other (28p + 5% VAT).
    differences = {bill["corrects"]: Decimal(bill["difference"]) for bill in boundary.bills}
    assert differences == {september.number: Decimal("1.47"), october.number: Decimal("-1.47")}


def test_staff_find_a_reading_in_the_admin_and_void_it_there(client, staff, meter):
    client.login(email=staff.email, password=PASSWORD)

    found = client.post(
        "/admin/meters/readingcorrection/add/",
        {"meter_id": meter.meter_id, "at": "2026-09-14T23:00:00Z"},
    )
    assert found.status_code == 302
    voided = client.post(found["Location"], {"action": "void", "reason": "Faulty head"})

    assert voided.status_code == 302
    assert not Reading.objects.filter(meter=meter, at=SEP_15).exists()
    page = client.get(found["Location"]).content.decode()
    assert "This reading was voided" in page and "Faulty head" in page and "1140" in page
    refused = client.post(
        f"/admin/meters/readingcorrection/reading/{meter.meter_id}/2026-09-13T23:00:00Z/",
        {"action": "amend", "import_kwh": "900", "reason": "typo"},
    )
    assert refused.status_code == 200 and "went down from" in refused.content.decode()
    assert ReadingCorrection.objects.count() == 1
