"""The one-statement handshake (``services.handshake``) and boot (``services.status``): the same
stored state and rules as the services they stand in for, in one round trip."""

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from charging import keys, services
from charging.models import Charger, Registration
from charging.services import charger_connection_take
from charging.services.status import BOOT_FIELDS, _boot_notification_record_orm

from .factories import CHARGER_PASSWORD, ChargerFactory

pytestmark = pytest.mark.django_db


def _take(charger_id: str, password, channel="node!a"):
    return charger_connection_take(
        charge_point_id=charger_id, password=password, channel_name=channel, remote_address="1.2"
    )


def test_a_charger_on_a_key_is_authenticated_and_takes_the_socket_in_one_statement():
    charger = ChargerFactory()
    with CaptureQueriesContext(connection) as queries:
        taken, previous = _take(charger.charge_point_id, CHARGER_PASSWORD.encode())
    assert len(queries) == 1
    assert (taken.pk, previous) == (charger.pk, "")
    row = Charger.objects.get(pk=charger.pk)
    assert row.connected and row.channel_name == "node!a" and row.remote_address == "1.2"
    assert row.connected_at == row.last_message_at is not None
    assert row.password_hash == charger.password_hash


def test_the_previous_owner_comes_back_to_be_told_to_close():
    charger = ChargerFactory()
    _take(charger.charge_point_id, CHARGER_PASSWORD, channel="node!old")
    assert _take(charger.charge_point_id, CHARGER_PASSWORD, channel="node!new")[1] == "node!old"
    assert _take(charger.charge_point_id, CHARGER_PASSWORD, channel="node!new")[1] == ""


def test_a_wrong_or_missing_key_or_another_charger_id_is_refused_and_nothing_is_taken():
    charger = ChargerFactory()
    other = ChargerFactory(password=keys.key_new())
    assert _take(charger.charge_point_id, b"wrong-key-of-16-chars") == (None, "")
    assert _take(charger.charge_point_id, None) == (None, "")
    assert _take(other.charge_point_id, CHARGER_PASSWORD) == (None, "")
    assert not Charger.objects.filter(connected=True).exists()


def test_a_digest_made_with_a_fallback_secret_is_rewritten_with_the_current_one():
    with override_settings(SECRET_KEY="the-old-secret-key-" * 3):
        charger = ChargerFactory()
        old_digest = charger.password_hash
    with override_settings(SECRET_KEY_FALLBACKS=["the-old-secret-key-" * 3]):
        taken, _ = _take(charger.charge_point_id, CHARGER_PASSWORD)
        assert taken is not None
        stored = Charger.objects.get(pk=charger.pk).password_hash
        assert stored != old_digest and stored == keys.key_digest(CHARGER_PASSWORD)


def test_the_cases_a_digest_cannot_decide_take_the_services_path():
    legacy = ChargerFactory()
    Charger.objects.filter(pk=legacy.pk).update(password_hash=make_password(CHARGER_PASSWORD))
    assert _take(legacy.charge_point_id, CHARGER_PASSWORD)[0] is not None
    assert Charger.objects.get(pk=legacy.pk).password_hash.startswith("hmac_sha256$")
    pending = Charger.objects.create(charge_point_id="NEWBIE", registration=Registration.PENDING)
    assert _take(pending.charge_point_id, None)[0] is not None
    assert Charger.objects.get(pk=pending.pk).connected
    with override_settings(CHARGING_REGISTRATION_POLICY="known"):
        assert _take("UNKNOWN", CHARGER_PASSWORD) == (None, "")


PAYLOAD = {
    "charge_point_vendor": "Vendor",
    "charge_point_model": "M" * 300,
    "firmware_version": "1.0",
    "iccid": None,
}


@pytest.mark.parametrize("registration", [Registration.ACCEPTED, Registration.REJECTED])
def test_boot_in_one_statement_stores_what_the_service_stores(registration):
    fast, slow = ChargerFactory(), ChargerFactory()
    # Staff decided after the sockets opened: both must see it.
    Charger.objects.filter(pk__in=[fast.pk, slow.pk]).update(registration=registration)
    with CaptureQueriesContext(connection) as queries:
        returned = services.boot_notification_record(charger=fast, payload=PAYLOAD)
    assert len(queries) == 1
    _boot_notification_record_orm(charger=slow, payload=PAYLOAD)
    columns = [*BOOT_FIELDS, "registration", "heartbeat_interval", "account_id"]
    fast_row = Charger.objects.filter(pk=fast.pk).values(*columns, "booted_at").get()
    slow_row = Charger.objects.filter(pk=slow.pk).values(*columns, "booted_at").get()
    assert {c: fast_row[c] for c in columns} == {c: slow_row[c] for c in columns}
    assert (fast_row["booted_at"] is None) == (slow_row["booted_at"] is None)
    assert returned.is_accepted == (registration == Registration.ACCEPTED)
    assert returned.booted_at == fast_row["booted_at"]
    assert len(fast_row["model"]) == services.VENDOR_STRING_MAX


def test_heartbeats_in_one_statement_store_what_the_service_stores():
    from datetime import timedelta

    from django.utils import timezone

    from charging.services import heartbeats_record

    alive, given_up, taken_over = ChargerFactory(), ChargerFactory(), ChargerFactory()
    Charger.objects.filter(pk=alive.pk).update(connected=True, channel_name="n!alive")
    Charger.objects.filter(pk=taken_over.pk).update(connected=True, channel_name="n!newer")
    later = timezone.now() + timedelta(minutes=1)
    Charger.objects.filter(pk=alive.pk).update(last_message_at=later)  # a newer frame
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        heartbeats_record(
            beats={
                alive.pk: (now, "n!alive"),
                given_up.pk: (now, "n!given-up"),
                taken_over.pk: (now, "n!stale"),
            }
        )
    assert len(queries) == 1
    rows = {c.pk: c for c in Charger.objects.filter(pk__in=[alive.pk, given_up.pk, taken_over.pk])}
    assert rows[alive.pk].last_heartbeat_at == now and rows[alive.pk].last_message_at == later
    assert rows[given_up.pk].connected and rows[given_up.pk].channel_name == "n!given-up"
    assert rows[given_up.pk].connected_at == rows[given_up.pk].last_message_at == now
    assert rows[taken_over.pk].channel_name == "n!newer"
