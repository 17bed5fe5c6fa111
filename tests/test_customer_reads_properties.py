"""Junk a customer posts as a read (issue #19): whatever JSON arrives at their meter's reading
door, the answer is a 2xx, or a 4xx in the API's error shape naming a field, never a 5xx; a
refused read stores nothing. The same for staff posting corrections. Bounded like the other
API property tests (tests/test_api_properties.py, whose strategies are reused)."""

import zoneinfo
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meters.models import CustomerRead, Reading, ReadingCorrection
from meters.services import reading_record
from meters.tests.factories import MeterFactory
from tests.test_api_properties import _EDGY_TEXT, BUDGET, _assert_answered, _bodies, _post

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
READ = {"at": "2026-11-10T00:00:00Z", "import_kwh": "12400.5", "export_kwh": "10"}
CORRECTION = {"action": "amend", "import_kwh": "12400.5", "reason": "misread"}


def test_it_answers_any_customer_read_and_stores_nothing_it_refuses(api, customer):
    meter = MeterFactory(account=customer.customer_accounts.get())
    reading_record(
        meter=meter,
        at=datetime(2026, 11, 3, tzinfo=LONDON),
        import_kwh="12345.6",
        export_kwh="5",
        source="api",
    )
    client = api.as_user(customer)
    url = f"/api/v1/meters/{meter.meter_id}/readings"

    @given(body=_bodies(READ))
    @BUDGET
    def check(body):
        before = (Reading.objects.count(), CustomerRead.objects.count())
        response = _post(client, url, body)
        _assert_answered(response)
        if response.status_code >= 400:
            assert (Reading.objects.count(), CustomerRead.objects.count()) == before

    check()


def test_it_answers_any_correction_and_changes_nothing_it_refuses(api, staff):
    meter = MeterFactory()
    at = datetime(2026, 11, 3, tzinfo=LONDON)
    reading_record(meter=meter, at=at, import_kwh="12345.6", source="api")
    client = api.as_user(staff)
    stamps = st.just("2026-11-03T00:00:00Z") | _EDGY_TEXT.filter(lambda text: "/" not in text)

    @given(body=_bodies(CORRECTION), stamp=stamps)
    @BUDGET
    def check(body, stamp):
        before = ReadingCorrection.objects.count()
        url = f"/api/v1/meters/{meter.meter_id}/readings/{stamp}/correction"
        response = _post(client, url, body)
        if response.status_code == 404:
            return  # no such reading, or a stamp the URL cannot carry (e.g. NUL)
        _assert_answered(response)
        if response.status_code >= 400:
            assert ReadingCorrection.objects.count() == before

    check()
