"""Charger authorization keys: keyed digests checked in microseconds, legacy PBKDF2 hashes
rewritten at the first connect, rotation through ChangeConfiguration AuthorizationKey."""

import time

import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings

from charging import keys, services
from charging.models import Charger, ChargerCommand, CommandStatus, OcppMessage
from config.exceptions import ApplicationError

from .conftest import db, eventually
from .factories import CHARGER_PASSWORD, ChargerFactory
from .test_commands import _wait_done

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_checks_a_key_in_microseconds_not_pbkdf2_time():
    charger = ChargerFactory()
    started = time.perf_counter()
    for _ in range(1000):
        assert charger.check_password(CHARGER_PASSWORD)
    per_check = (time.perf_counter() - started) / 1000
    # Not a timing assert of speed, an assert of the scheme: PBKDF2 at Django's iterations takes
    # ~0.3 s; a keyed digest thousands of times less. The digest names its scheme.
    assert charger.password_hash.startswith("hmac_sha256$")
    assert per_check < 0.01


def test_it_treats_the_raw_20_bytes_and_their_hex_in_either_case_as_one_key():
    key = keys.key_new()
    charger = ChargerFactory(password=key)
    assert charger.check_password(key)
    assert charger.check_password(key.upper())
    assert charger.check_password(bytes.fromhex(key))
    assert not charger.check_password(keys.key_new())
    assert not charger.check_password(b"\xff" * 20)


def test_a_digest_made_with_an_old_secret_key_still_matches_and_is_marked_for_rewriting():
    with override_settings(SECRET_KEY="the-old-secret-key-" * 3):
        old = keys.key_digest("a-key-of-sixteen-chars")
    with override_settings(SECRET_KEY="the-new-secret-key-" * 3, SECRET_KEY_FALLBACKS=[]):
        assert keys.key_matches("a-key-of-sixteen-chars", old) == (False, False)
    with override_settings(
        SECRET_KEY="the-new-secret-key-" * 3, SECRET_KEY_FALLBACKS=["the-old-secret-key-" * 3]
    ):
        assert keys.key_matches("a-key-of-sixteen-chars", old) == (True, True)


def test_a_legacy_pbkdf2_password_is_verified_once_then_rewritten_to_the_keyed_digest():
    charger = ChargerFactory()
    Charger.objects.filter(pk=charger.pk).update(password_hash=make_password("legacy-pw1"))

    refused = services.charger_authenticate(charge_point_id=charger.charge_point_id, password="x")
    assert refused is None
    assert not Charger.objects.get(pk=charger.pk).password_hash.startswith("hmac_sha256$")
    assert services.charger_authenticate(
        charge_point_id=charger.charge_point_id, password=b"legacy-pw1"
    )
    charger.refresh_from_db()
    assert charger.password_hash.startswith("hmac_sha256$")
    assert services.charger_authenticate(
        charge_point_id=charger.charge_point_id, password="legacy-pw1"
    )
    assert not charger.check_password("legacy-pw2")


def test_it_refuses_a_short_or_non_ascii_key_from_staff():
    for bad in ("fifteen-chars-x", "x" * 41, "sixteen-chars-ä!"):
        with pytest.raises(ApplicationError, match="16 to 40"):
            services.charger_register(charge_point_id="CP-K", password=bad)
    assert not Charger.objects.exists()


def test_the_command_api_will_not_send_an_authorization_key_it_chose_itself():
    charger = ChargerFactory(connected=True, channel_name="specific.x!y")
    with pytest.raises(ApplicationError, match="key rotation"):
        services.command_create(
            charger=charger,
            operation="ChangeConfiguration",
            payload={"key": "AuthorizationKey", "value": "0" * 40},
        )
    assert not ChargerCommand.objects.exists()


async def _rotate(open_station, answer: str):
    charger = await db(ChargerFactory)()
    station = await open_station(charger)
    await db(charger.refresh_from_db)()
    command = await db(services.charger_key_rotate)(charger=charger)
    call = await station.receive_call()
    assert call[2] == "ChangeConfiguration" and call[3]["key"] == "AuthorizationKey"
    new_key = call[3]["value"]
    await station.answer(call[1], {"status": answer})
    command = await _wait_done(command)
    return charger, command, new_key


async def test_a_rotated_key_replaces_the_old_one_when_the_charger_accepts_it(open_station):
    charger, command, new_key = await _rotate(open_station, "Accepted")

    assert command.status == CommandStatus.ACCEPTED
    assert len(new_key) == 40 and int(new_key, 16) >= 0
    assert command.payload == {"key": "AuthorizationKey", "value": services.KEY_MASK}
    await db(charger.refresh_from_db)()
    assert charger.check_password(new_key) and not charger.check_password(CHARGER_PASSWORD)
    old = await open_station(charger, expect_connected=False)
    new = await open_station(charger, password=new_key, boot=False)
    assert not old.connected and new.connected
    frames = await eventually(
        lambda: list(OcppMessage.objects.filter(action="ChangeConfiguration")),
        lambda rows: rows,
    )
    assert frames and all(new_key not in row.frame for row in frames)


@pytest.mark.parametrize("answer", ["Rejected", "NotSupported"])
async def test_a_rotation_the_charger_does_not_accept_keeps_the_old_key(open_station, answer):
    charger, command, new_key = await _rotate(open_station, answer)

    assert command.status == CommandStatus.REJECTED
    await db(charger.refresh_from_db)()
    assert charger.check_password(CHARGER_PASSWORD) and not charger.check_password(new_key)


def test_rotating_the_key_of_an_offline_charger_changes_nothing():
    charger = ChargerFactory()
    before = charger.password_hash

    command = services.charger_key_rotate(charger=charger)

    assert command.status == CommandStatus.OFFLINE
    charger.refresh_from_db()
    assert charger.password_hash == before


def test_staff_rotate_a_key_through_the_api_and_customers_may_not(api, staff, customer):
    charger = ChargerFactory()
    url = f"/api/v1/chargers/{charger.pk}/authorization-key"

    refused = api.as_user(customer).post(url)
    answered = api.as_user(staff).post(url)

    assert refused.status_code in (403, 404)
    assert answered.status_code == 201, answered.json()
    assert answered.json()["status"] == "offline"
    assert answered.json()["payload"]["value"] == services.KEY_MASK
