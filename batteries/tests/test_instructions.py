import json
import queue
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from batteries import mqtt, services
from batteries.models import BatteryInstruction, InstructionRule, InstructionStatus
from batteries.tests.factories import BatteryFactory, InstructionRuleFactory, reading
from billing.tests.factories import TariffAssignmentFactory, economy7_tariff
from config.exceptions import InvalidInput

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def battery():
    battery = BatteryFactory()
    services.reading_record(
        battery=battery, data=reading(soc_percent=50, temperature_c=20), source="api"
    )
    battery.refresh_from_db()
    return battery


@pytest.fixture
def broker(settings):
    """A subscriber on this test's own topic root of the real broker; yields a queue of
    (topic, payload dict) of the commands published to it."""
    root = f"test-{uuid.uuid4().hex[:10]}/batteries"
    settings.BATTERIES_MQTT_TOPIC_ROOT = root
    received: queue.Queue = queue.Queue()
    subscribed = queue.Queue()
    client = paho.Client(
        callback_api_version=paho.CallbackAPIVersion.VERSION2,
        client_id=f"test-sub-{uuid.uuid4().hex[:10]}",
    )
    client.on_message = lambda c, u, m: received.put((m.topic, json.loads(m.payload)))
    client.on_subscribe = lambda c, u, mid, codes, props: subscribed.put(mid)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    client.subscribe(f"{root}/+/cmd", qos=1)
    subscribed.get(timeout=10)
    yield received
    client.disconnect()
    client.loop_stop()


def _rules_pass(now=None, capture=None):
    if capture is None:
        return services.rules_evaluate(now=now)
    with capture(execute=True):
        return services.rules_evaluate(now=now)


def _in_force(battery):
    return BatteryInstruction.objects.get(battery=battery, status__in=["pending", "sent"])


def test_it_issues_the_instruction_of_the_highest_priority_rule_that_holds(battery):
    InstructionRuleFactory(battery=battery, priority=1, action="hold")
    InstructionRuleFactory(
        battery=battery, priority=9, action="discharge", power_kw=3, soc_above=80
    )  # does not hold: SoC is 50
    InstructionRuleFactory(
        identifier_prefix="N1-", priority=5, action="charge", power_kw=Decimal("2.5"), soc_below=60
    )

    counts = _rules_pass()

    instruction = _in_force(battery)
    assert counts["issued"] == 1
    assert (instruction.action, instruction.power_kw) == ("charge", Decimal("2.5"))
    assert instruction.source == "rule"


def test_it_breaks_priority_ties_by_the_oldest_rule(battery):
    first = InstructionRuleFactory(account=battery.account, priority=3, action="hold")
    InstructionRuleFactory(account=battery.account, priority=3, action="idle")

    _rules_pass()

    assert _in_force(battery).rule == first


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"soc_above": 40}, True),
        ({"soc_above": 50}, False),
        ({"soc_below": 51}, True),
        ({"soc_below": 50}, False),
        ({"temperature_below": 21}, True),
        ({"temperature_below": 20}, False),
        ({"window_start": time(12), "window_end": time(14)}, True),
        ({"window_start": time(14), "window_end": time(12)}, False),
        ({"window_start": time(23), "window_end": time(13)}, True),
        ({"tariff_window": "cheap"}, False),
    ],
)
def test_it_holds_a_rule_only_when_each_condition_holds(battery, condition, holds):
    rule = InstructionRuleFactory.build(battery=battery, **condition)
    noon = datetime(2026, 7, 1, 12, 30, tzinfo=LONDON)

    assert services.rule_holds(rule=rule, battery=battery, at=noon, has_alerts=False) is holds


def test_it_treats_a_missing_tariff_as_not_in_the_window(battery):
    """An account without a tariff: a tariff condition never holds on a guess."""
    InstructionRuleFactory(battery=battery, tariff_window="cheap", action="charge", power_kw=3)

    assert _rules_pass()["issued"] == 0


@pytest.mark.parametrize(
    ("local_time", "issued"), [(time(1, 0), 1), (time(7, 30), 0), (time(12, 0), 0)]
)
def test_it_charges_in_the_cheap_window_of_the_accounts_economy7_tariff(
    battery, local_time, issued
):
    TariffAssignmentFactory(account=battery.account, tariff=economy7_tariff())
    InstructionRuleFactory(battery=battery, tariff_window="cheap", action="charge", power_kw=3)
    at = datetime.combine(timezone.localdate(), local_time, tzinfo=LONDON)

    assert _rules_pass(now=at)["issued"] == issued


def test_it_skips_an_alert_free_rule_while_an_alert_is_open(battery):
    InstructionRuleFactory(battery=battery, only_without_alerts=True, action="idle")
    services.reading_record(battery=battery, data=reading(soc_percent=1), source="api")

    assert _rules_pass()["issued"] == 0


def test_it_refreshes_the_same_instruction_instead_of_issuing_another(battery):
    InstructionRuleFactory(battery=battery, action="hold")
    now = timezone.now()
    _rules_pass(now=now)
    first = _in_force(battery)

    counts = _rules_pass(now=now + timedelta(minutes=1))

    assert counts == {"expired": 0, "issued": 0, "refreshed": 1}
    refreshed = _in_force(battery)
    assert refreshed.pk == first.pk
    assert refreshed.expires_at > first.expires_at


def test_it_supersedes_the_instruction_when_another_rule_wins(battery):
    InstructionRuleFactory(battery=battery, priority=1, action="hold")
    _rules_pass()
    InstructionRuleFactory(battery=battery, priority=2, action="idle")

    _rules_pass()

    statuses = dict(BatteryInstruction.objects.values_list("action", "status"))
    assert statuses == {"hold": "superseded", "idle": "pending"}


def test_it_expires_an_instruction_that_is_not_refreshed(battery, settings):
    settings.BATTERIES_RULE_INSTRUCTION_TTL_MINUTES = 5
    rule = InstructionRuleFactory(battery=battery, action="charge", power_kw=2)
    now = timezone.now()
    _rules_pass(now=now)
    rule.enabled = False
    rule.save()

    early = _rules_pass(now=now + timedelta(minutes=4))
    late = _rules_pass(now=now + timedelta(minutes=5))

    assert early["expired"] == 0
    assert late["expired"] == 1
    instruction = BatteryInstruction.objects.get()
    assert instruction.status == "expired"
    assert "not refreshed" in instruction.detail


def test_it_leaves_a_manual_instruction_in_force_over_rules(battery, staff):
    InstructionRuleFactory(battery=battery, priority=100, action="hold")
    manual = services.instruction_issue_manual(
        battery=battery, action="discharge", power_kw=4, requested_by=staff
    )

    assert _rules_pass()["issued"] == 0
    manual.refresh_from_db()
    assert manual.status == "pending"


def test_it_does_not_instruct_an_offline_battery(battery):
    battery.status = "offline"
    battery.save(update_fields=["status"])
    InstructionRuleFactory(battery=battery, action="hold")

    assert _rules_pass()["issued"] == 0


@pytest.mark.parametrize(
    ("action", "parameters", "field"),
    [
        ("charge", {}, "power_kw"),
        ("charge", {"power_kw": 0}, "power_kw"),
        ("discharge", {"power_kw": 2, "reserve_soc": 20}, "reserve_soc"),
        ("set_reserve", {"reserve_soc": 120}, "reserve_soc"),
        ("hold", {"power_kw": 1}, "power_kw"),
        ("explode", {}, "action"),
    ],
)
def test_it_refuses_an_instruction_without_the_right_parameters(
    battery, staff, action, parameters, field
):
    with pytest.raises(InvalidInput) as caught:
        services.instruction_issue_manual(
            battery=battery, action=action, requested_by=staff, **parameters
        )

    assert field in caught.value.errors
    assert not BatteryInstruction.objects.exists()


def test_it_allows_one_instruction_in_force_per_battery_in_the_database(battery):
    now = timezone.now()
    fields = {"battery": battery, "source": "manual", "action": "hold", "created_at": now}
    BatteryInstruction.objects.create(**fields, expires_at=now + timedelta(minutes=5))

    with pytest.raises(IntegrityError), transaction.atomic():
        BatteryInstruction.objects.create(**fields, expires_at=now + timedelta(minutes=5))


def test_it_refuses_a_rule_with_two_scopes_in_the_database(battery):
    with pytest.raises(IntegrityError), transaction.atomic():
        InstructionRule.objects.create(
            name="x", battery=battery, identifier_prefix="N1", action="hold"
        )


def test_it_delivers_a_manual_instruction_over_mqtt_and_records_the_ack(
    battery, staff, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        instruction = services.instruction_issue_manual(
            battery=battery, action="set_reserve", reserve_soc=30, requested_by=staff
        )

    topic, command = broker.get(timeout=10)
    instruction.refresh_from_db()
    assert topic.endswith(f"/{battery.identifier}/cmd")
    assert command["instruction_id"] == str(instruction.pk)
    assert command["action"] == "set_reserve" and command["reserve_soc"] == 30.0
    assert command["expires_at"] == instruction.expires_at.isoformat()
    assert instruction.status == InstructionStatus.SENT

    ack = json.dumps({"instruction_id": str(instruction.pk), "result": "accepted"}).encode()
    mqtt.handle_command_ack(battery.identifier, ack, timezone.now())
    mqtt.handle_command_ack(battery.identifier, ack, timezone.now())  # a replay

    instruction.refresh_from_db()
    assert instruction.status == InstructionStatus.ACKNOWLEDGED
    assert instruction.answered_at is not None


def test_it_delivers_rule_instructions_and_their_refreshes(
    battery, broker, django_capture_on_commit_callbacks
):
    InstructionRuleFactory(battery=battery, action="hold")
    now = timezone.now()

    _rules_pass(now=now, capture=django_capture_on_commit_callbacks)
    _, first = broker.get(timeout=10)
    _rules_pass(now=now + timedelta(minutes=1), capture=django_capture_on_commit_callbacks)
    _, refresh = broker.get(timeout=10)

    assert first["instruction_id"] == refresh["instruction_id"]
    assert refresh["expires_at"] > first["expires_at"]
    assert _in_force(battery).status == InstructionStatus.SENT


def test_it_records_a_rejection_with_its_reason(battery, staff, broker):
    instruction = services.instruction_issue_manual(
        battery=battery, action="charge", power_kw=3, requested_by=staff
    )
    payload = {"instruction_id": str(instruction.pk), "result": "rejected", "reason": "too hot"}

    mqtt.handle_command_ack(battery.identifier, json.dumps(payload).encode(), timezone.now())

    instruction.refresh_from_db()
    assert instruction.status == InstructionStatus.REJECTED
    assert instruction.detail == "too hot"


def test_it_marks_an_instruction_failed_when_the_broker_is_unreachable(battery, staff, settings):
    settings.MQTT_URL = "mqtt://127.0.0.1:1"
    instruction = services.instruction_issue_manual(
        battery=battery, action="hold", requested_by=staff
    )

    outcome = services.instructions_deliver(instruction_ids=[instruction.pk])

    instruction.refresh_from_db()
    assert outcome == {"sent": 0, "failed": 1}
    assert instruction.status == InstructionStatus.FAILED
    assert "broker unreachable" in instruction.detail


def test_it_does_not_revive_an_expired_instruction_on_a_late_ack(battery, staff):
    instruction = services.instruction_issue_manual(
        battery=battery, action="hold", requested_by=staff, expires_in_minutes=1
    )
    services.instructions_expire(now=timezone.now() + timedelta(minutes=2))

    mqtt.handle_command_ack(
        battery.identifier,
        json.dumps({"instruction_id": str(instruction.pk), "result": "accepted"}).encode(),
        timezone.now(),
    )

    instruction.refresh_from_db()
    assert instruction.status == InstructionStatus.EXPIRED
    assert "late answer" in instruction.detail


def test_it_refuses_an_ack_for_another_batterys_instruction(battery, staff):
    from config.exceptions import ApplicationError

    other = BatteryFactory(postcode="E8 1AA")
    instruction = services.instruction_issue_manual(
        battery=battery, action="hold", requested_by=staff
    )
    payload = json.dumps({"instruction_id": str(instruction.pk), "result": "accepted"}).encode()

    with pytest.raises(ApplicationError):
        mqtt.handle_command_ack(other.identifier, payload, timezone.now())

    instruction.refresh_from_db()
    assert instruction.status == InstructionStatus.PENDING


def test_it_sends_manual_instructions_from_the_api_for_staff_only(
    api, staff, customer, django_capture_on_commit_callbacks, broker
):
    battery = BatteryFactory(account=customer.customer_accounts.get())
    path = f"/api/v1/batteries/{battery.identifier}/instructions"

    refused = api.as_user(customer).post(path, {"action": "hold"})
    invalid = api.as_user(staff).post(path, {"action": "charge"})
    with django_capture_on_commit_callbacks(execute=True):
        created = api.as_user(staff).post(path, {"action": "charge", "power_kw": "3.5"})
    listed = api.as_user(customer).get(path)

    assert refused.status_code == 403
    assert invalid.status_code == 400 and "power_kw" in invalid.json()["fields"]
    assert created.status_code == 201, created.json()
    assert broker.get(timeout=10)[1]["power_kw"] == 3.5
    assert [i["action"] for i in listed.json()["results"]] == ["charge"]
    assert listed.json()["results"][0]["status"] == "sent"


def test_it_lists_the_rules_that_apply_to_a_battery(api, customer):
    battery = BatteryFactory(account=customer.customer_accounts.get())
    InstructionRuleFactory(name="mine", battery=battery, priority=1)
    InstructionRuleFactory(name="account", account=battery.account, priority=2)
    InstructionRuleFactory(name="other district", identifier_prefix="E8-")

    rules = api.as_user(customer).get(f"/api/v1/batteries/{battery.pk}/rules").json()

    assert [r["name"] for r in rules] == ["account", "mine"]


def test_it_manages_rules_through_the_api_for_staff_only(api, staff, customer, battery):
    refused = api.as_user(customer).post("/api/v1/battery-rules", {"name": "x", "action": "hold"})
    client = api.as_user(staff)
    created = client.post(
        "/api/v1/battery-rules",
        {
            "name": "Cheap night charge", "priority": 5, "battery": battery.identifier,
            "window_start": "00:30", "window_end": "04:30", "soc_below": "80",
            "action": "charge", "power_kw": "3",
        },
    )  # fmt: skip
    rule_id = created.json()["id"]
    changed = client.patch(f"/api/v1/battery-rules/{rule_id}", {"priority": 7})
    listed = client.get("/api/v1/battery-rules")
    deleted = client.delete(f"/api/v1/battery-rules/{rule_id}")

    assert refused.status_code == 403
    assert created.status_code == 201, created.json()
    assert created.json()["battery"] == battery.identifier
    assert changed.json()["priority"] == 7
    assert [r["name"] for r in listed.json()["results"]] == ["Cheap night charge"]
    assert deleted.status_code == 204
    assert not InstructionRule.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "hold"}, "battery"),
        ({"action": "hold", "identifier_prefix": "N1-", "battery": "N1-0001-10"}, "battery"),
        ({"action": "charge", "identifier_prefix": "N1-"}, "power_kw"),
        ({"action": "hold", "identifier_prefix": "N1-", "window_start": "01:00"}, "window_end"),
        ({"action": "idle", "identifier_prefix": "N", "soc_above": 8, "soc_below": 2}, "soc_below"),
    ],
)  # fmt: skip
def test_it_refuses_a_malformed_rule(api, staff, battery, body, field):
    response = api.as_user(staff).post("/api/v1/battery-rules", {"name": "bad", **body})

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not InstructionRule.objects.exists()


def test_it_checks_rules_saved_in_the_admin(client, staff, battery):
    from accounts.tests.factories import PASSWORD

    client.login(email=staff.email, password=PASSWORD)

    response = client.post(
        "/admin/batteries/instructionrule/add/",
        {"name": "no power", "priority": 0, "identifier_prefix": "N1-", "action": "charge"},
    )

    assert response.status_code == 200
    assert "Charge needs a power in kW." in response.content.decode()
    assert not InstructionRule.objects.exists()


def _ack(battery, instruction, result="accepted"):
    payload = {"instruction_id": str(instruction.pk), "result": result}
    mqtt.handle_command_ack(battery.identifier, json.dumps(payload).encode(), timezone.now())


def test_an_accepted_new_reserve_becomes_the_registrys_reserve(battery, staff):
    instruction = services.instruction_issue_manual(
        battery=battery, action="set_reserve", reserve_soc=35, requested_by=staff
    )
    _ack(battery, instruction)
    _ack(battery, instruction)  # a replay changes nothing more

    battery.refresh_from_db()
    assert battery.min_soc_reserve == 35


def test_a_rejected_new_reserve_leaves_the_registry_alone(battery, staff):
    before = battery.min_soc_reserve
    instruction = services.instruction_issue_manual(
        battery=battery, action="set_reserve", reserve_soc=35, requested_by=staff
    )
    _ack(battery, instruction, result="rejected")

    battery.refresh_from_db()
    assert battery.min_soc_reserve == before


def test_it_refuses_a_reserve_not_below_the_batterys_maximum(battery, staff):
    battery.max_soc_reserve = 90
    battery.save(update_fields=["max_soc_reserve"])
    with pytest.raises(InvalidInput) as caught:
        services.instruction_issue_manual(
            battery=battery, action="set_reserve", reserve_soc=90, requested_by=staff
        )
    assert "below the battery's maximum of 90" in str(caught.value.errors["reserve_soc"])


def test_an_accepted_reserve_above_a_since_lowered_maximum_is_noted_not_kept(battery, staff):
    instruction = services.instruction_issue_manual(
        battery=battery, action="set_reserve", reserve_soc=80, requested_by=staff
    )
    battery.max_soc_reserve = 70
    battery.save(update_fields=["max_soc_reserve"])

    _ack(battery, instruction)

    battery.refresh_from_db()
    instruction.refresh_from_db()
    assert battery.min_soc_reserve != 80
    assert "registry reserve unchanged" in instruction.detail
