"""The charging API: scoping by user, commands with a bounded wait, transactions and CSV."""

import asyncio
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, StaffFactory
from charging.models import ChargerCommand, CommandStatus, Transaction

from .conftest import db
from .factories import ChargerFactory, IdTagFactory


def _post_and_close(client, *args, **kwargs):
    """A request from a worker thread; its database connection must not outlive it."""
    from django.db import connections

    try:
        return client.post(*args, **kwargs)
    finally:
        connections.close_all()


def _session(charger, id_tag="TAG", account=None, kwh=None):
    started = timezone.now() - timedelta(hours=2)
    return Transaction.objects.create(
        charger=charger,
        connector_id=1,
        id_tag=id_tag,
        account=account,
        authorization_status="Accepted",
        meter_start_wh=1000,
        started_at=started,
        meter_stop_wh=None if kwh is None else 1000 + int(kwh * 1000),
        stopped_at=None if kwh is None else started + timedelta(hours=1),
        energy_kwh=kwh,
    )


@pytest.mark.django_db
def test_it_lists_all_chargers_to_staff_and_only_their_own_to_a_customer(api, staff, customer):
    account = customer.customer_accounts.get()
    mine = ChargerFactory(account=account)
    ChargerFactory(account=CustomerAccountFactory())
    ChargerFactory()
    staff_ids = [row["id"] for row in api.as_user(staff).get("/api/v1/chargers").json()["results"]]
    assert len(staff_ids) == 3
    rows = api.as_user(customer).get("/api/v1/chargers").json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert rows[0]["account"] == account.account_number


@pytest.mark.django_db
def test_it_hides_another_customers_charger(api, customer):
    other = ChargerFactory(account=CustomerAccountFactory())
    client = api.as_user(customer)
    assert client.get(f"/api/v1/chargers/{other.pk}").status_code == 404
    response = client.post(
        f"/api/v1/chargers/{other.pk}/commands/UnlockConnector", {"connectorId": 1}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_it_shows_analysts_no_chargers(api, analyst):
    ChargerFactory()
    assert api.as_user(analyst).get("/api/v1/chargers").status_code == 403


@pytest.mark.django_db
def test_it_answers_a_command_to_an_offline_charger_with_status_offline(api, staff):
    charger = ChargerFactory()
    response = api.as_user(staff).post(
        f"/api/v1/chargers/{charger.pk}/commands/Reset", {"type": "Soft"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "offline"
    listed = api.get(f"/api/v1/chargers/{charger.pk}/commands").json()["results"]
    assert [row["operation"] for row in listed] == ["Reset"]
    detail = api.get(f"/api/v1/charging/commands/{listed[0]['id']}").json()
    assert detail["status"] == "offline"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("operation", "payload", "field"),
    [
        ("Reset", {"type": "Lukewarm"}, "payload.type"),
        ("Teleport", {}, "operation"),
        ("Reset", ["Soft"], "payload"),
    ],
)
def test_it_refuses_a_bad_command_with_400_naming_the_field(api, staff, operation, payload, field):
    charger = ChargerFactory()
    response = api.as_user(staff).post(
        f"/api/v1/chargers/{charger.pk}/commands/{operation}", payload, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not ChargerCommand.objects.exists()


@pytest.mark.django_db
def test_it_lets_a_customer_start_only_with_their_own_tag_and_not_reset(api, customer):
    account = customer.customer_accounts.get()
    charger = ChargerFactory(account=account)
    IdTagFactory(id_tag="MINE", account=account)
    IdTagFactory(id_tag="THEIRS", account=CustomerAccountFactory())
    client = api.as_user(customer)
    url = f"/api/v1/chargers/{charger.pk}/commands"
    theirs = client.post(f"{url}/RemoteStartTransaction", {"idTag": "THEIRS"}, format="json")
    assert theirs.status_code == 400
    mine = client.post(f"{url}/RemoteStartTransaction", {"idTag": "MINE"}, format="json")
    assert mine.status_code == 201 and mine.json()["status"] == "offline"
    assert client.post(f"{url}/Reset", {"type": "Hard"}, format="json").status_code == 403


@pytest.mark.django_db
def test_it_lets_a_customer_stop_only_their_own_session(api, customer):
    account = customer.customer_accounts.get()
    charger = ChargerFactory(account=account)
    mine = _session(charger, account=account)
    other = _session(ChargerFactory(), account=CustomerAccountFactory())
    client = api.as_user(customer)
    url = f"/api/v1/chargers/{charger.pk}/commands/RemoteStopTransaction"
    assert client.post(url, {"transactionId": other.pk}, format="json").status_code == 400
    assert client.post(url, {"transactionId": mine.pk}, format="json").status_code == 201


@pytest.mark.django_db
def test_it_scopes_transactions_and_exports_them_as_csv(api, staff, customer):
    account = customer.customer_accounts.get()
    charger = ChargerFactory(charge_point_id="HOME1", account=account)
    mine = _session(charger, account=account, kwh=7.5)
    _session(ChargerFactory(), account=CustomerAccountFactory(), kwh=3)
    rows = api.as_user(customer).get("/api/v1/charging/transactions").json()["results"]
    assert [row["transaction_id"] for row in rows] == [mine.pk]
    assert rows[0]["energy_kwh"] == "7.500" and rows[0]["duration_seconds"] == 3600
    response = api.get("/api/v1/charging/transactions.csv")
    assert response["Content-Type"] == "text/csv"
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(line["transaction_id"], line["charger"], line["energy_kwh"]) for line in lines] == [
        (str(mine.pk), "HOME1", "7.500")
    ]
    everything = api.as_user(staff).get("/api/v1/charging/transactions.csv")
    assert len(b"".join(everything.streaming_content).decode().strip().splitlines()) == 3
    active = api.get("/api/v1/charging/transactions", {"active": "true"}).json()
    assert active["count"] == 0


@pytest.mark.django_db
def test_a_charger_owner_sees_a_visitors_session_without_their_tag_or_account(api, customer):
    account = customer.customer_accounts.get()
    charger = ChargerFactory(account=account)
    own = _session(charger, id_tag="MINE", account=account, kwh=5)
    visitor = _session(charger, id_tag="VISITOR-RFID", account=CustomerAccountFactory(), kwh=9)

    rows = {
        row["transaction_id"]: row
        for row in api.as_user(customer).get("/api/v1/charging/transactions").json()["results"]
    }
    export = b"".join(api.get("/api/v1/charging/transactions.csv").streaming_content).decode()

    assert rows[own.pk]["id_tag"] == "MINE" and rows[own.pk]["account"] == account.account_number
    assert rows[visitor.pk]["energy_kwh"] == "9.000"
    assert (rows[visitor.pk]["id_tag"], rows[visitor.pk]["account"]) == (None, None)
    assert "VISITOR-RFID" not in export and visitor.account.account_number not in export


@pytest.mark.django_db
def test_a_customer_sees_only_the_commands_they_sent(api, customer, staff):
    charger = ChargerFactory(account=customer.customer_accounts.get())
    theirs = ChargerCommand.objects.create(
        charger=charger,
        operation="UnlockConnector",
        payload={"connectorId": 1},
        requested_by=customer,
    )
    ChargerCommand.objects.create(
        charger=charger,
        operation="SendLocalList",
        payload={"listVersion": 2, "updateType": "Full", "localAuthorizationList": []},
        requested_by=staff,
    )

    listed = api.as_user(customer).get("/api/v1/charging/commands").json()["results"]

    assert [command["id"] for command in listed] == [theirs.pk]


@pytest.mark.django_db(transaction=True)
async def test_it_waits_for_the_chargers_answer_and_returns_it(api, open_station):
    staff = await db(StaffFactory)()
    charger = await db(ChargerFactory)()
    station = await open_station(charger)
    client = await db(api.as_user)(staff)
    url = f"/api/v1/chargers/{charger.pk}/commands/ChangeAvailability"
    request = asyncio.create_task(
        asyncio.to_thread(
            _post_and_close, client, url, {"connectorId": 0, "type": "Inoperative"}, format="json"
        )
    )
    call = await station.receive_call()
    assert call[2] == "ChangeAvailability"
    await station.answer(call[1], {"status": "Scheduled"})
    response = await request
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["response"]) == (CommandStatus.ACCEPTED, {"status": "Scheduled"})


@pytest.mark.django_db
def test_it_shows_connected_and_offline_counts_on_the_status_page(api, staff):
    ChargerFactory(connected=True)
    ChargerFactory()
    ChargerFactory(registration="Pending")
    body = api.as_user(staff).get("/status").json()
    section = body["sections"]["charging"]
    assert (section["connected"], section["offline"], section["pending"]) == (1, 2, 1)
