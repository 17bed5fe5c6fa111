import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD, CustomerAccountFactory
from batteries import services
from batteries.models import Battery, BatteryAlert, BatteryInstruction
from batteries.tests.factories import BatteryFactory, InstructionRuleFactory, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, customer):
    client.login(email=customer.email, password=PASSWORD)
    return client


def test_it_shows_my_battery_with_state_history_alerts_and_rules(logged_in, customer):
    battery = BatteryFactory(account=customer.customer_accounts.get())
    services.reading_record(
        battery=battery, data=reading(soc_percent=4, temperature_c=31.5), source="api"
    )
    InstructionRuleFactory(name="Charge overnight", battery=battery, action="charge", power_kw=3)

    page = logged_in.get(reverse("batteries:detail", args=[battery.identifier]))

    assert page.status_code == 200
    html = page.content.decode()
    assert battery.identifier in html
    assert "4.0 %" in html and "31.5 °C" in html
    assert "State of charge below reserve" in html
    assert "Charge overnight" in html
    assert f"/api/v1/batteries/{battery.pk}/history" in html
    assert f'href="/flex/batteries/{battery.identifier}/"' in html  # its smart charging plan


def test_it_lists_my_batteries_only(logged_in, customer):
    mine = BatteryFactory(account=customer.customer_accounts.get())
    theirs = BatteryFactory(account=CustomerAccountFactory(), postcode="E8 1AA")

    html = logged_in.get(reverse("batteries:list")).content.decode()

    assert mine.identifier in html and theirs.identifier not in html
    assert logged_in.get(reverse("batteries:detail", args=[theirs.identifier])).status_code == 404


def test_it_shows_a_battery_panel_on_the_customers_home_page(logged_in, customer):
    battery = BatteryFactory(account=customer.customer_accounts.get())
    services.reading_record(battery=battery, data=reading(soc_percent=77), source="api")

    html = logged_in.get(reverse("home")).content.decode()

    assert "Your battery" in html
    assert "77 % charged" in html


def test_it_shows_no_battery_panel_without_a_battery(logged_in):
    assert "Your batter" not in logged_in.get(reverse("home")).content.decode()


def test_it_reports_the_fleet_on_the_status_page(client, staff):
    BatteryFactory()
    client.login(email=staff.email, password=PASSWORD)

    response = client.get(reverse("status"), HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    section = response.json()["sections"]["batteries"]
    assert section["batteries"] == 1
    assert section["by_status"] == {"offline": 1}


def test_it_creates_a_battery_in_the_admin_through_the_service(client, staff, customer):
    client.login(email=staff.email, password=PASSWORD)
    account = customer.customer_accounts.get()

    response = client.post(
        reverse("admin:batteries_battery_add"),
        {
            "account": account.pk, "location": "Shed", "postcode": "n1 9gu",
            "capacity_kwh": "13.5", "ip_address": "", "vendor": "Acme", "model": "X",
            "min_soc_reserve": "10", "max_soc_reserve": "100",
            "alerts-TOTAL_FORMS": "0", "alerts-INITIAL_FORMS": "0",
            "instructions-TOTAL_FORMS": "0", "instructions-INITIAL_FORMS": "0",
        },
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Battery.objects.get().identifier == "N1-0001-13.5"


def test_it_sends_an_instruction_and_acknowledges_alerts_from_the_admin(client, staff):
    battery = BatteryFactory()
    services.reading_record(battery=battery, data=reading(soc_percent=2), source="api")
    client.login(email=staff.email, password=PASSWORD)

    form = client.post(
        reverse("admin:batteries_battery_changelist"),
        {"action": "send_instruction", "_selected_action": [battery.pk]},
    )
    sent = client.post(
        reverse("admin:batteries_battery_changelist"),
        {
            "action": "send_instruction", "_selected_action": [battery.pk], "apply": "1",
            "order": "hold", "power_kw": "", "reserve_soc": "",
        },
    )  # fmt: skip
    acknowledged = client.post(
        reverse("admin:batteries_batteryalert_changelist"),
        {"action": "acknowledge", "_selected_action": [BatteryAlert.objects.get().pk]},
    )

    assert form.status_code == 200 and "Send an instruction" in form.content.decode()
    assert sent.status_code == 302 and acknowledged.status_code == 302
    assert BatteryInstruction.objects.get().requested_by == staff
    assert BatteryAlert.objects.get().status == "acknowledged"


def test_it_renders_the_admin_pages(client, staff):
    battery = BatteryFactory()
    services.reading_record(battery=battery, data=reading(soc_percent=2), source="api")
    client.login(email=staff.email, password=PASSWORD)

    for name in ("battery", "batteryalert", "batteryinstruction", "instructionrule"):
        assert client.get(reverse(f"admin:batteries_{name}_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:batteries_battery_change", args=[battery.pk])).status_code == 200
    )
