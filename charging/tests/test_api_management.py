"""Staff manage chargers and id tags through the API; customers read their own; analysts and
anonymous callers get nothing. Every write goes through charging.services."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, StaffFactory
from charging import services
from charging.models import Charger, ChargerCommand, IdTag, Registration, Transaction

from .conftest import db
from .factories import CHARGER_PASSWORD, ChargerFactory, IdTagFactory

CHARGERS = "/api/v1/chargers"
TAGS = "/api/v1/charging/tags"


def _fields(response) -> dict:
    return response.json().get("fields", {})


# --- chargers -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_register_a_charger_whose_password_is_stored_hashed_and_never_shown(api, staff):
    account = CustomerAccountFactory()
    body = {
        "charge_point_id": "RDAM 123",
        "account": account.account_number,
        "password": "s3cret-password-16",
    }

    response = api.as_user(staff).post(CHARGERS, body, format="json")

    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["charge_point_id"], created["account"]) == ("RDAM 123", account.account_number)
    assert (created["registration"], created["has_password"]) == ("Accepted", True)
    assert "s3cret-password-16" not in response.content.decode()
    assert "password" not in created and "password_hash" not in created
    charger = Charger.objects.get(pk=created["id"])
    assert charger.check_password("s3cret-password-16")
    assert "s3cret" not in charger.password_hash
    listed = api.get(CHARGERS, {"charge_point_id": "RDAM 123"}).json()["results"]
    assert [row["id"] for row in listed] == [charger.pk]
    assert "s3cret" not in api.get(f"{CHARGERS}/{charger.pk}").content.decode()


@pytest.mark.django_db
def test_a_pending_charger_may_be_registered_without_a_password(api, staff):
    response = api.as_user(staff).post(
        CHARGERS, {"charge_point_id": "NEW-1", "registration": "Pending"}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["registration"], response.json()["has_password"]) == (
        "Pending",
        False,
    )


@pytest.mark.django_db
def test_registering_an_identity_again_is_409_and_changes_nothing(api, staff):
    body = {"charge_point_id": "CP-DUP", "password": "first-password-16ch"}
    first = api.as_user(staff).post(CHARGERS, body, format="json")

    replay = api.post(CHARGERS, body, format="json")
    other = api.post(
        CHARGERS,
        {"charge_point_id": "CP-DUP", "password": "second-password-16", "registration": "Pending"},
        format="json",
    )

    for response in (replay, other):
        assert response.status_code == 409
        assert "charge_point_id" in _fields(response)
        assert response.json()["existing_id"] == first.json()["id"]
    charger = Charger.objects.get()
    assert charger.check_password("first-password-16ch") and charger.registration == "Accepted"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"charge_point_id": ""}, "charge_point_id", "blank"),
        ({"charge_point_id": "C" * 49}, "charge_point_id", "1 to 48"),
        ({"charge_point_id": "site/1"}, "charge_point_id", '"/"'),
        ({"charge_point_id": "site:1"}, "charge_point_id", '":"'),
        ({"charge_point_id": "Ladesäule"}, "charge_point_id", "printable ASCII"),
        ({"charge_point_id": " CP1"}, "charge_point_id", "either end"),
        ({"password": "short"}, "password", "16 to 40"),
        ({"password": ""}, "password", "blank"),
        ({"registration": "Maybe"}, "registration", "not a valid choice"),
        ({"account": "HG-NOBODY"}, "account", "does not exist"),
        ({"registration": "Accepted", "password": None}, "password", "null"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_a_bad_charger_is_refused_with_400_naming_the_field_and_rule(
    api, staff, body, field, words
):
    request = {"charge_point_id": "CP-BAD", "password": "long-enough-key-1"} | body

    response = api.as_user(staff).post(CHARGERS, request, format="json")

    assert response.status_code == 400, response.json()
    assert words in " ".join(_fields(response)[field])
    assert not Charger.objects.exists()


@pytest.mark.django_db
def test_an_accepted_charger_registered_without_a_password_gets_a_generated_key_shown_once(
    api, staff
):
    response = api.as_user(staff).post(CHARGERS, {"charge_point_id": "CP-OPEN"}, format="json")

    assert response.status_code == 201, response.json()
    key = response.json()["authorization_key"]
    assert len(key) == 40 and int(key, 16) >= 0  # AuthorizationKey: 20 bytes as hexadecimal
    charger = Charger.objects.get(charge_point_id="CP-OPEN")
    assert charger.check_password(key) and key not in charger.password_hash
    assert charger.check_password(bytes.fromhex(key))  # OCPP-J's example sends the raw bytes
    shown = api.get(f"{CHARGERS}/{charger.pk}").json()
    assert "authorization_key" not in shown and shown["has_password"] is True


@pytest.mark.django_db
def test_staff_change_a_chargers_account_and_password(api, staff):
    charger = ChargerFactory()
    account = CustomerAccountFactory()

    response = api.as_user(staff).patch(
        f"{CHARGERS}/{charger.pk}",
        {"account": account.account_number, "password": "new-password-16ch"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["account"] == account.account_number
    charger.refresh_from_db()
    assert charger.account == account
    assert charger.check_password("new-password-16ch") and not charger.check_password(
        CHARGER_PASSWORD
    )
    cleared = api.patch(f"{CHARGERS}/{charger.pk}", {"account": None}, format="json")
    assert cleared.json()["account"] is None


@pytest.mark.django_db
def test_staff_accept_a_pending_charger_with_its_password_in_one_request(api, staff):
    charger = ChargerFactory(registration="Pending", password="")

    response = api.as_user(staff).patch(
        f"{CHARGERS}/{charger.pk}",
        {"registration": "Accepted", "password": "now-it-has-one-key"},
        format="json",
    )

    assert response.status_code == 200
    charger.refresh_from_db()
    assert charger.registration == "Accepted" and charger.check_password("now-it-has-one-key")


@pytest.mark.django_db
def test_accepting_a_charger_without_a_password_is_refused_and_changes_nothing(api, staff):
    charger = ChargerFactory(registration="Pending", password="")
    account = CustomerAccountFactory()

    response = api.as_user(staff).patch(
        f"{CHARGERS}/{charger.pk}",
        {"registration": "Accepted", "account": account.account_number},
        format="json",
    )

    assert response.status_code == 400 and "password" in _fields(response)
    charger.refresh_from_db()
    assert (charger.registration, charger.account) == ("Pending", None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"charge_point_id": "RENAMED"}, "charge_point_id", "cannot be changed"),
        ({"password": "short"}, "password", "16 to 40"),
        ({"registration": "Retired"}, "registration", "not a valid choice"),
        ({"heartbeat_interval": 10}, "heartbeat_interval", "Unknown field"),
    ],
)
def test_a_bad_change_to_a_charger_is_refused_with_400_and_changes_nothing(
    api, staff, body, field, words
):
    charger = ChargerFactory(charge_point_id="FIXED")

    response = api.as_user(staff).patch(f"{CHARGERS}/{charger.pk}", body, format="json")

    assert response.status_code == 400
    assert words in " ".join(_fields(response)[field])
    stored = Charger.objects.get()
    assert (stored.charge_point_id, stored.registration, stored.heartbeat_interval) == (
        "FIXED",
        "Accepted",
        300,
    )
    assert stored.check_password(CHARGER_PASSWORD)


@pytest.mark.django_db
def test_staff_delete_a_charger_nothing_refers_to(api, staff):
    charger = ChargerFactory()

    response = api.as_user(staff).delete(f"{CHARGERS}/{charger.pk}")

    assert response.status_code == 204
    assert not Charger.objects.exists()
    assert api.delete(f"{CHARGERS}/{charger.pk}").status_code == 404


@pytest.mark.django_db
def test_a_charger_with_sessions_is_not_deleted_and_the_answer_says_to_retire_it(api, staff):
    charger = ChargerFactory()
    Transaction.objects.create(
        charger=charger,
        connector_id=1,
        id_tag="TAG",
        authorization_status="Accepted",
        meter_start_wh=0,
        started_at=timezone.now(),
    )
    ChargerCommand.objects.create(charger=charger, operation="Reset", payload={"type": "Soft"})

    response = api.as_user(staff).delete(f"{CHARGERS}/{charger.pk}")

    assert response.status_code == 409
    body = response.json()
    assert set(body["referred_to_by"]) == {"transactions", "charger commands"}
    assert "Rejected" in body["detail"]
    assert Charger.objects.filter(pk=charger.pk).exists()
    assert Transaction.objects.filter(charger=charger).count() == 1


@pytest.mark.django_db
def test_a_connected_charger_is_not_deleted(api, staff):
    charger = ChargerFactory(connected=True, channel_name="ocpp.test")

    response = api.as_user(staff).delete(f"{CHARGERS}/{charger.pk}")

    assert response.status_code == 409 and "connected" in response.json()["detail"]
    assert Charger.objects.filter(pk=charger.pk).exists()


@pytest.mark.django_db
def test_customers_read_their_charger_but_may_not_change_register_or_delete_it(api, customer):
    charger = ChargerFactory(account=customer.customer_accounts.get())
    client = api.as_user(customer)

    assert client.get(f"{CHARGERS}/{charger.pk}").status_code == 200
    create = client.post(
        CHARGERS, {"charge_point_id": "MINE-2", "password": "long-enough-key-1"}, format="json"
    )
    change = client.patch(f"{CHARGERS}/{charger.pk}", {"registration": "Pending"}, format="json")
    delete = client.delete(f"{CHARGERS}/{charger.pk}")

    assert [create.status_code, change.status_code, delete.status_code] == [403, 403, 403]
    assert list(Charger.objects.values_list("charge_point_id", "registration")) == [
        (charger.charge_point_id, "Accepted")
    ]


@pytest.mark.django_db
def test_analysts_get_403_and_anonymous_callers_401_for_chargers(api, analyst):
    charger = ChargerFactory()
    body = {"charge_point_id": "CP-X", "password": "long-enough-key-1"}

    anonymous = [
        api.get(CHARGERS).status_code,
        api.post(CHARGERS, body, format="json").status_code,
        api.patch(f"{CHARGERS}/{charger.pk}", {}, format="json").status_code,
        api.delete(f"{CHARGERS}/{charger.pk}").status_code,
    ]
    client = api.as_user(analyst)
    as_analyst = [
        client.get(f"{CHARGERS}/{charger.pk}").status_code,
        client.post(CHARGERS, body, format="json").status_code,
        client.patch(f"{CHARGERS}/{charger.pk}", {}, format="json").status_code,
        client.delete(f"{CHARGERS}/{charger.pk}").status_code,
    ]

    assert anonymous == [401] * 4
    assert as_analyst == [403] * 4
    assert list(Charger.objects.values_list("pk", flat=True)) == [charger.pk]


@pytest.mark.django_db(transaction=True)
async def test_a_charger_registered_through_the_api_connects_with_its_password(api, open_station):
    staff = await db(StaffFactory)()
    client = await db(api.as_user)(staff)
    body = {"charge_point_id": "API-CP", "password": "its-own-key-16chr"}
    response = await db(client.post)(CHARGERS, body, format="json")
    assert response.status_code == 201

    wrong = await open_station(charge_point_id="API-CP", password="not-its-key-16chr")
    right = await open_station(charge_point_id="API-CP", password="its-own-key-16chr", boot=False)

    assert not wrong.connected
    assert right.connected and (await right.boot())["status"] == "Accepted"


@pytest.mark.django_db(transaction=True)
async def test_a_retired_charger_is_answered_rejected_at_its_next_boot(api, open_station):
    staff = await db(StaffFactory)()
    charger = await db(ChargerFactory)()
    station = await open_station(charger)
    client = await db(api.as_user)(staff)

    response = await db(client.patch)(
        f"{CHARGERS}/{charger.pk}", {"registration": "Rejected"}, format="json"
    )

    assert response.status_code == 200 and response.json()["registration"] == "Rejected"
    assert (await station.boot())["status"] == "Rejected"
    assert (await station.call("Heartbeat"))[2] == "SecurityError"
    again = await db(client.post)(
        f"{CHARGERS}/{charger.pk}/commands/Reset", {"type": "Soft"}, format="json"
    )
    assert again.status_code == 409, "the central system sends a retired charger nothing"


# --- id tags ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_register_a_tag_with_owner_parent_and_expiry(api, staff):
    account = CustomerAccountFactory()
    IdTagFactory(id_tag="FAMILY")
    expiry = (timezone.now() + timedelta(days=365)).replace(microsecond=0)

    response = api.as_user(staff).post(
        TAGS,
        {
            "id_tag": "04A2B3C4D5E6F7",
            "account": account.account_number,
            "parent_id_tag": "family",
            "expires_at": expiry.isoformat(),
            "max_concurrent_transactions": 2,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["id_tag"], body["account"], body["parent_id_tag"]) == (
        "04A2B3C4D5E6F7",
        account.account_number,
        "FAMILY",
    )
    assert (body["status"], body["blocked"], body["max_concurrent_transactions"]) == (
        "Accepted",
        False,
        2,
    )
    tag = IdTag.objects.get(pk=body["id"])
    assert tag.expires_at == expiry
    info = services.id_tag_info(id_tag="04A2B3C4D5E6F7")
    assert (info["status"], info["parent_id_tag"]) == ("Accepted", "FAMILY")


@pytest.mark.django_db
@pytest.mark.parametrize("again", ["RFID-0001", "rfid-0001", "Rfid-0001"])
def test_a_tag_registered_again_in_any_case_is_409_and_changes_nothing(api, staff, again):
    first = api.as_user(staff).post(TAGS, {"id_tag": "RFID-0001"}, format="json")

    response = api.post(TAGS, {"id_tag": again, "blocked": True}, format="json")

    assert response.status_code == 409
    assert "id_tag" in _fields(response) and "ignoring case" in response.json()["detail"]
    assert response.json()["existing_id"] == first.json()["id"]
    assert list(IdTag.objects.values_list("id_tag", "blocked")) == [("RFID-0001", False)]


@pytest.mark.django_db
def test_the_database_refuses_two_tags_differing_only_in_case(staff):
    IdTag.objects.create(id_tag="CASE-1")

    with pytest.raises(IntegrityError):
        IdTag.objects.create(id_tag="case-1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"id_tag": ""}, "id_tag", "blank"),
        ({"id_tag": "T" * 21}, "id_tag", "1 to 20"),
        ({"id_tag": "KÄRTCHEN"}, "id_tag", "printable ASCII"),
        ({"id_tag": "TAB\tTAG"}, "id_tag", "printable ASCII"),
        ({"id_tag": "TAG "}, "id_tag", "either end"),
        ({"id_tag": None}, "id_tag", "null"),
        ({"parent_id_tag": "NO-SUCH"}, "parent_id_tag", "register the parent tag first"),
        ({"max_concurrent_transactions": -1}, "max_concurrent_transactions", "0 (no limit)"),
        ({"max_concurrent_transactions": "two"}, "max_concurrent_transactions", "integer"),
        ({"expires_at": "next tuesday"}, "expires_at", "Datetime has wrong format"),
        ({"account": "HG-NOBODY"}, "account", "does not exist"),
        ({"blocked": "perhaps"}, "blocked", "valid boolean"),
        ({"status": "Blocked"}, "status", "Unknown field"),
    ],
)
def test_a_bad_tag_is_refused_with_400_naming_the_field_and_rule(api, staff, body, field, words):
    response = api.as_user(staff).post(TAGS, {"id_tag": "GOOD-TAG"} | body, format="json")

    assert response.status_code == 400, response.json()
    assert words in " ".join(_fields(response)[field])
    assert not IdTag.objects.exists()


@pytest.mark.django_db
def test_staff_block_a_tag_and_authorize_answers_blocked(api, staff):
    tag = IdTagFactory(id_tag="LOST-CARD")
    child = IdTagFactory(id_tag="CHILD", parent=tag)
    client = api.as_user(staff)

    response = client.patch(f"{TAGS}/{tag.pk}", {"blocked": True}, format="json")

    assert response.status_code == 200
    assert (response.json()["blocked"], response.json()["status"]) == (True, "Blocked")
    assert services.id_tag_info(id_tag="LOST-CARD")["status"] == "Blocked"
    assert client.get(f"{TAGS}/{child.pk}").json()["status"] == "Blocked", "its group too"
    unblocked = client.patch(f"{TAGS}/{tag.pk}", {"blocked": False}, format="json")
    assert unblocked.json()["status"] == "Accepted"
    assert services.id_tag_info(id_tag="LOST-CARD")["status"] == "Accepted"


@pytest.mark.django_db
def test_staff_expire_move_and_limit_a_tag(api, staff):
    tag = IdTagFactory(id_tag="WORK-CARD", account=CustomerAccountFactory())
    IdTagFactory(id_tag="FLEET")
    client = api.as_user(staff)
    yesterday = timezone.now() - timedelta(days=1)

    response = client.patch(
        f"{TAGS}/{tag.pk}",
        {
            "expires_at": yesterday.isoformat(),
            "parent_id_tag": "FLEET",
            "account": None,
            "max_concurrent_transactions": 0,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["parent_id_tag"], body["account"]) == ("Expired", "FLEET", None)
    assert body["max_concurrent_transactions"] == 0
    assert services.id_tag_info(id_tag="WORK-CARD")["status"] == "Expired"
    renewed = client.patch(
        f"{TAGS}/{tag.pk}", {"expires_at": None, "parent_id_tag": None}, format="json"
    ).json()
    assert (renewed["status"], renewed["expires_at"], renewed["parent_id_tag"]) == (
        "Accepted",
        None,
        None,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"id_tag": "OTHER"}, "id_tag", "cannot be changed"),
        ({"parent_id_tag": "a-tag"}, "parent_id_tag", "its own parent"),
        ({"parent_id_tag": "B-TAG"}, "parent_id_tag", "its own parent"),
        ({"max_concurrent_transactions": -5}, "max_concurrent_transactions", "0 (no limit)"),
        ({"expires_at": "2026-13-01T00:00:00Z"}, "expires_at", "wrong format"),
    ],
)
def test_a_bad_change_to_a_tag_is_refused_with_400_and_changes_nothing(
    api, staff, body, field, words
):
    tag = IdTagFactory(id_tag="A-TAG")
    IdTagFactory(id_tag="B-TAG", parent=tag)

    response = api.as_user(staff).patch(f"{TAGS}/{tag.pk}", body, format="json")

    assert response.status_code == 400, response.json()
    assert words in " ".join(_fields(response)[field])
    tag.refresh_from_db()
    assert (tag.id_tag, tag.parent, tag.max_concurrent_transactions) == ("A-TAG", None, 1)


@pytest.mark.django_db
def test_customers_read_only_their_own_tags_and_may_not_write_them(api, customer):
    account = customer.customer_accounts.get()
    mine = IdTagFactory(id_tag="MINE", account=account)
    theirs = IdTagFactory(id_tag="THEIRS", account=CustomerAccountFactory())
    client = api.as_user(customer)

    listed = client.get(TAGS).json()["results"]
    hidden = client.get(f"{TAGS}/{theirs.pk}")
    create = client.post(TAGS, {"id_tag": "EXTRA", "account": account.account_number})
    block = client.patch(f"{TAGS}/{mine.pk}", {"blocked": True}, format="json")

    assert [(row["id_tag"], row["status"]) for row in listed] == [("MINE", "Accepted")]
    assert hidden.status_code == 404
    assert (create.status_code, block.status_code) == (403, 403)
    assert list(IdTag.objects.order_by("id_tag").values_list("id_tag", "blocked")) == [
        ("MINE", False),
        ("THEIRS", False),
    ]


@pytest.mark.django_db
def test_analysts_get_403_and_anonymous_callers_401_for_tags(api, analyst):
    tag = IdTagFactory()

    anonymous = [
        api.get(TAGS).status_code,
        api.post(TAGS, {"id_tag": "NEW"}, format="json").status_code,
        api.patch(f"{TAGS}/{tag.pk}", {"blocked": True}, format="json").status_code,
    ]
    client = api.as_user(analyst)
    as_analyst = [
        client.get(TAGS).status_code,
        client.post(TAGS, {"id_tag": "NEW"}, format="json").status_code,
        client.patch(f"{TAGS}/{tag.pk}", {"blocked": True}, format="json").status_code,
    ]

    assert anonymous == [401] * 3
    assert as_analyst == [403] * 3
    assert list(IdTag.objects.values_list("id_tag", "blocked")) == [(tag.id_tag, False)]


@pytest.mark.django_db
def test_staff_find_tags_by_value_ignoring_case_account_and_blocking(api, staff):
    account = CustomerAccountFactory()
    IdTagFactory(id_tag="AbC-1", account=account)
    IdTagFactory(id_tag="LOST", blocked=True)
    client = api.as_user(staff)

    def found(**query):
        return [row["id_tag"] for row in client.get(TAGS, query).json()["results"]]

    assert found(id_tag="abc-1") == ["AbC-1"]
    assert found(account=account.account_number) == ["AbC-1"]
    assert found(blocked="true") == ["LOST"]


@pytest.mark.django_db
def test_a_tag_cannot_be_deleted(api, staff):
    tag = IdTagFactory()

    assert api.as_user(staff).delete(f"{TAGS}/{tag.pk}").status_code == 405
    assert IdTag.objects.filter(pk=tag.pk).exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_tag_differing_only_in_case_and_a_non_ascii_one(client, staff):
    IdTagFactory(id_tag="ADMIN-TAG")
    client.force_login(staff)
    form = {"max_concurrent_transactions": "1"}

    same = client.post("/admin/charging/idtag/add/", form | {"id_tag": "admin-tag"})
    accented = client.post("/admin/charging/idtag/add/", form | {"id_tag": "KÄRTCHEN"})

    assert same.status_code == 200 and "ignoring case" in same.content.decode()
    assert accented.status_code == 200 and "printable ASCII" in accented.content.decode()
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["ADMIN-TAG"]


@pytest.mark.django_db
def test_the_admin_refuses_a_charger_identity_with_a_slash(client, staff):
    client.force_login(staff)

    response = client.post(
        "/admin/charging/charger/add/",
        {
            "charge_point_id": "site/1",
            "registration": "Accepted",
            "new_password": "long-enough-key-1",
            "connectors-TOTAL_FORMS": "0",
            "connectors-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200 and "printable ASCII" in response.content.decode()
    assert not Charger.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_short_charger_password_instead_of_failing(client, staff):
    charger = ChargerFactory()
    client.force_login(staff)

    response = client.post(
        f"/admin/charging/charger/{charger.pk}/change/",
        {
            "charge_point_id": charger.charge_point_id,
            "registration": Registration.ACCEPTED,
            "new_password": "short",
            "connectors-TOTAL_FORMS": "0",
            "connectors-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200 and "16 to 40" in response.content.decode()
    charger.refresh_from_db()
    assert charger.check_password(CHARGER_PASSWORD)
