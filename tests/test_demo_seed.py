"""The demo ``make run`` seeds (#20): a believable supplier, seeded once however often it runs,
on PostgreSQL and on the SQLite of the embedded defaults."""

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import CustomerAccount, User
from batteries.models import Battery
from billing.models import Bill, BillState, HalfHourRate, Tariff, TariffAssignment
from charging.models import Charger, IdTag
from meters.models import Meter, Reading
from portal.demo.seed import DEMO_CHARGER, DEMO_CUSTOMER, DEMO_TAG, HOUSEHOLDS
from tests.servers import ROOT, embedded_env

COUNTED = {
    "users": User.objects,
    "accounts": CustomerAccount.objects,
    "meters": Meter.objects,
    "readings": Reading.objects,
    "tariffs": Tariff.objects,
    "assignments": TariffAssignment.objects,
    "rates": HalfHourRate.objects,
    "bills": Bill.objects,
    "batteries": Battery.objects,
    "chargers": Charger.objects,
    "tags": IdTag.objects,
}
COUNTS = "import json; from tests.test_demo_seed import counts; print(json.dumps(counts()))"


def counts() -> dict[str, int]:
    return {name: manager.count() for name, manager in COUNTED.items()}


@pytest.mark.django_db
def test_it_seeds_a_supplier_once_however_often_it_runs(capsys):
    call_command("seed_demo", "--months", "1")
    first = counts()
    call_command("seed_demo", "--months", "1")

    assert counts() == first
    assert first["meters"] == len(HOUSEHOLDS) >= 8
    assert first["bills"] == len(HOUSEHOLDS), "one issued bill per home for the whole month"
    assert "customer@homegrid.local" in capsys.readouterr().out


@pytest.mark.django_db
def test_its_homes_fill_the_analyst_groups_and_the_customer_owns_one_of_each_thing():
    call_command("seed_demo", "--months", "1")

    regions = Counter(CustomerAccount.objects.values_list("region", flat=True))
    dwellings = Counter(CustomerAccount.objects.values_list("dwelling_type", flat=True))
    assert len(regions) >= 3 and min(regions.values()) >= 5
    assert len(dwellings) >= 2 and min(dwellings.values()) >= 5
    customer = User.objects.get(email=DEMO_CUSTOMER)
    account = customer.customer_accounts.get()
    assert Meter.objects.filter(account=account).exists()
    assert Battery.objects.filter(account=account).exists()
    assert Charger.objects.get(charge_point_id=DEMO_CHARGER).account == account
    assert IdTag.objects.get(id_tag=DEMO_TAG).account == account
    assert Bill.objects.filter(account=account, state=BillState.ISSUED, needs_review=False)

    # Its agile tariff has prices from its start to tomorrow, for bills and the planner.
    agile = Tariff.objects.get(import_dynamic=True)
    rates = HalfHourRate.objects.filter(tariff=agile)
    tomorrow = timezone.localdate() + timedelta(days=1)
    days = {timezone.localdate(at) for at in rates.values_list("valid_from", flat=True)}
    assert min(days) == agile.valid_from and max(days) == tomorrow
    assert len(days) == (tomorrow - agile.valid_from).days + 1, "no day without prices"
    assert TariffAssignment.objects.filter(account=account, tariff=agile).exists()
    values = [float(v) for v in rates.values_list("value_exc_vat", flat=True)]
    assert min(values) < 0.15 < max(values), "cheap nights and dear evenings"


@pytest.mark.slow
def test_it_seeds_once_on_the_embedded_sqlite(tmp_path):
    env = embedded_env(tmp_path)
    seed = [sys.executable, "manage.py", "seed_demo", "--months", "1"]
    show = [sys.executable, "manage.py", "shell", "-c", COUNTS]

    def run(command):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run(seed)
    first = json.loads(run(show).strip().splitlines()[-1])
    run(seed)
    second = json.loads(run(show).strip().splitlines()[-1])

    assert second == first
    assert first["bills"] == len(HOUSEHOLDS) and first["readings"] > 30 * 48 * len(HOUSEHOLDS)
