"""Staff read a bill's daily usage in the admin as a table of days and kWh, not as JSON."""

import re
from datetime import date

import pytest

from billing import services
from billing.tests.factories import TariffAssignmentFactory, TariffFactory
from billing.tests.test_services import daily_readings
from meters.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


def test_it_shows_a_bills_daily_usage_as_a_table_of_days_and_kwh(client, staff, customer):
    account = customer.customer_accounts.get()
    TariffAssignmentFactory(account=account, tariff=TariffFactory())
    daily_readings(MeterFactory(account=account), date(2026, 9, 1), date(2026, 10, 1), 10)
    bill, _ = services.bill_generate_for_month(account=account, month="2026-09")
    client.force_login(staff)

    page = client.get(f"/admin/billing/bill/{bill.pk}/change/").content.decode()

    table = re.search(r'<table class="daily-usage">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"numeric\">([^<]+)</td></tr>", table)
    assert len(rows) == 30 == len(bill.daily_usage)
    assert rows[0] == ("Tue 01 Sep", bill.daily_usage[0][1])
    assert rows[-1][0] == "Wed 30 Sep"
    assert "[[&quot;2026-09-01&quot;" not in page and '[["2026-09-01"' not in page
