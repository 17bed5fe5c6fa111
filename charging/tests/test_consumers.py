"""The OCPP 1.6J central system over Channels' WebsocketCommunicator, against PostgreSQL and the
Redis channel layer."""

import json
from datetime import UTC, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, StaffFactory
from charging import services
from charging.models import (
    Anomaly,
    Charger,
    Connector,
    MeterValue,
    OcppMessage,
    Registration,
    StatusNotification,
    Transaction,
)
from config.exceptions import ApplicationError

from .conftest import db, eventually
from .factories import ChargerFactory, IdTagFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def _charger(**kwargs):
    return await db(ChargerFactory)(**kwargs)


async def _refresh(obj):
    await db(obj.refresh_from_db)()
    return obj


# --- connection ---------------------------------------------------------------------------------


async def test_it_refuses_a_connection_without_the_ocpp16_subprotocol(open_station):
    charger = await _charger()
    station = await open_station(charger, subprotocols=("ocpp1.5",), expect_connected=False)
    assert station.subprotocol is None
    closed = await station.ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4002}
    assert not (await _refresh(charger)).connected


async def test_it_refuses_an_unknown_charge_point_under_the_known_policy(open_station):
    station = await open_station(charge_point_id="NOBODY", expect_connected=False)
    assert station.connected is False
    assert not await db(Charger.objects.filter(charge_point_id="NOBODY").exists)()


@override_settings(CHARGING_REGISTRATION_POLICY="pending")
async def test_it_stores_an_unknown_charge_point_as_pending_and_answers_pending(open_station):
    station = await open_station(charge_point_id="NEWONE", password=None, boot=False)
    assert station.connected
    conf = await station.boot()
    assert conf["status"] == "Pending"
    charger = await db(Charger.objects.get)(charge_point_id="NEWONE")
    assert charger.registration == Registration.PENDING
    answer = await station.call("Heartbeat")
    assert answer[0] == 4 and answer[2] == "SecurityError"


async def test_it_refuses_a_wrong_password_and_stores_only_a_hash(open_station):
    charger = await _charger()
    assert "charger-secret-1" not in charger.password_hash
    wrong = await open_station(charger, password="guess", expect_connected=False)
    assert wrong.connected is False
    missing = await open_station(charger, password=None, expect_connected=False)
    assert missing.connected is False
    right = await open_station(charger)
    assert right.connected and right.subprotocol == "ocpp1.6"


async def test_it_refuses_an_accepted_charger_that_has_no_password(open_station):
    charger = await _charger()
    await db(Charger.objects.filter(pk=charger.pk).update)(password_hash="")

    for password in (None, "", "anything"):
        station = await open_station(charger, password=password, expect_connected=False)
        assert station.connected is False


async def test_it_lets_a_pending_charger_without_a_password_only_boot(open_station):
    charger = await _charger(registration=Registration.PENDING)
    await db(Charger.objects.filter(pk=charger.pk).update)(password_hash="")

    station = await open_station(charger, password=None, boot=False)

    assert station.connected
    assert (await station.boot())["status"] == "Pending"
    assert (await station.call("Heartbeat"))[2] == "SecurityError"


async def test_it_refuses_to_accept_a_charger_before_it_has_a_password():
    charger = await _charger(registration=Registration.PENDING)
    await db(Charger.objects.filter(pk=charger.pk).update)(password_hash="")
    charger = await _refresh(charger)

    with pytest.raises(ApplicationError, match="password before accepting"):
        await db(services.charger_set_registration)(
            charger=charger, registration=Registration.ACCEPTED
        )

    assert (await _refresh(charger)).registration == Registration.PENDING


async def test_it_records_the_connection_and_marks_it_closed_on_disconnect(open_station):
    charger = await _charger()
    station = await open_station(charger)
    charger = await _refresh(charger)
    assert charger.connected and charger.channel_name and charger.last_message_at
    await station.close()
    charger = await _refresh(charger)
    assert not charger.connected and charger.disconnected_at


async def test_it_tells_the_owners_open_pages_when_the_charger_comes_and_goes(open_station):
    import asyncio

    from channels.layers import get_channel_layer

    from accounts import live
    from charging.frame_log import frame_log

    charger = await _charger(account=await db(CustomerAccountFactory)())
    group = live.account_group(charger.account_id)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    await live.watch([group])  # what the owner's open page does

    async def next_connection_event():
        while True:
            message = await asyncio.wait_for(layer.receive(channel), timeout=5)
            if message["kind"] == "charging.connection":
                return message["data"]

    station = await open_station(charger)
    assert await next_connection_event() == {"charger": charger.charge_point_id, "connected": True}
    await station.close()
    assert await next_connection_event() == {"charger": charger.charge_point_id, "connected": False}

    await open_station(charger)
    assert (await next_connection_event())["connected"] is True
    # The boot's frames and last-message time are written in a batch a moment later; written
    # after the update below, they would make the charger fresh again (a race, not the subject).
    await frame_log().flush()
    await db(Charger.objects.filter(pk=charger.pk).update)(
        last_message_at=timezone.now() - timedelta(hours=1)
    )
    assert await db(services.chargers_mark_offline)() == 1
    assert await next_connection_event() == {"charger": charger.charge_point_id, "connected": False}
    await layer.group_discard(group, channel)


async def test_it_closes_the_stale_socket_when_the_charger_reconnects(open_station):
    charger = await _charger()
    stale = await open_station(charger)
    fresh = await open_station(charger)
    closed = await stale.ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4000}
    await stale.ws.disconnect()
    charger = await _refresh(charger)
    assert charger.connected, "the stale socket closing must not take the new one's state"
    assert (await fresh.conf("Heartbeat"))["currentTime"]


async def test_it_brings_back_a_charger_marked_offline_when_it_heartbeats_again(open_station):
    charger = await _charger()
    station = await open_station(charger)
    await db(Charger.objects.filter(pk=charger.pk).update)(
        last_message_at=timezone.now() - timedelta(hours=1)
    )
    assert await db(services.chargers_mark_offline)() == 1
    assert not (await _refresh(charger)).connected
    await station.conf("Heartbeat")
    # Heartbeats are written with the frame log's batch, just after the answer.
    charger = await eventually(lambda: Charger.objects.get(pk=charger.pk), lambda c: c.connected)
    assert charger.connected and charger.channel_name


# --- boot, heartbeat, status --------------------------------------------------------------------


async def test_it_accepts_a_boot_and_stores_what_the_charger_says(open_station):
    charger = await _charger()
    station = await open_station(charger, boot=False)
    conf = await station.conf(
        "BootNotification",
        {
            "chargePointVendor": "Acme",
            "chargePointModel": "Wallbox 7",
            "chargePointSerialNumber": "SN-1",
            "firmwareVersion": "1.2.3",
        },
    )
    assert conf["status"] == "Accepted" and conf["interval"] == 300
    charger = await _refresh(charger)
    assert (charger.vendor, charger.model, charger.serial_number, charger.firmware_version) == (
        "Acme",
        "Wallbox 7",
        "SN-1",
        "1.2.3",
    )
    assert charger.booted_at is not None


async def test_it_accepts_and_logs_over_long_vendor_strings_in_a_boot(open_station):
    charger = await _charger()
    station = await open_station(charger, boot=False)
    vendor = "V" * 60  # the schema allows 20
    conf = await station.conf(
        "BootNotification", {"chargePointVendor": vendor, "chargePointModel": "M" * 40}
    )
    assert conf["status"] == "Accepted"
    assert (await _refresh(charger)).vendor == vendor


async def test_it_answers_a_rejected_charger_rejected_and_refuses_its_other_calls(open_station):
    charger = await _charger(registration=Registration.REJECTED)
    station = await open_station(charger, boot=False)
    assert (await station.boot())["status"] == "Rejected"
    answer = await station.call("Heartbeat")
    assert answer[2] == "SecurityError"


async def test_it_answers_accepted_at_the_next_boot_once_staff_accept_a_pending_charger(
    open_station,
):
    charger = await _charger(registration=Registration.PENDING)
    station = await open_station(charger, boot=False)
    assert (await station.boot())["status"] == "Pending"
    await db(services.charger_set_registration)(charger=charger, registration=Registration.ACCEPTED)
    trigger = await station.receive_call()
    assert trigger[2:] == ["TriggerMessage", {"requestedMessage": "BootNotification"}]
    await station.answer(trigger[1], {"status": "Accepted"})
    assert (await station.boot())["status"] == "Accepted"
    assert (await station.conf("Heartbeat"))["currentTime"]


async def test_it_refuses_calls_before_an_accepted_boot_with_security_error(open_station):
    charger = await _charger()
    station = await open_station(charger, boot=False)
    answer = await station.call("StatusNotification", _status(1, "Available"))
    assert answer[0] == 4 and answer[2] == "SecurityError"
    await station.boot()
    assert await station.conf("StatusNotification", _status(1, "Available")) == {}


async def test_it_answers_a_heartbeat_with_the_time_and_records_it(open_station):
    charger = await _charger()
    station = await open_station(charger)
    conf = await station.conf("Heartbeat")
    assert conf["currentTime"].endswith("Z")
    recorded = await eventually(
        lambda: Charger.objects.get(pk=charger.pk), lambda c: c.last_heartbeat_at is not None
    )
    assert recorded.last_heartbeat_at is not None


def _status(connector_id, status, error_code="NoError", timestamp=None):
    payload = {"connectorId": connector_id, "status": status, "errorCode": error_code}
    if timestamp:
        payload["timestamp"] = timestamp
    return payload


async def test_it_keeps_status_history_and_the_newest_status_per_connector(open_station):
    charger = await _charger()
    station = await open_station(charger)
    now = timezone.now()
    await station.conf("StatusNotification", _status(1, "Charging", timestamp=_iso(now)))
    late = _status(1, "Faulted", "GroundFailure", timestamp=_iso(now - timedelta(minutes=5)))
    await station.conf("StatusNotification", late)
    connector = await db(Connector.objects.get)(charger=charger, connector_id=1)
    assert connector.status == "Charging", "a late notification does not overwrite a newer one"
    history = await db(
        lambda: list(StatusNotification.objects.filter(charger=charger).values_list("error_code"))
    )()
    assert sorted(history) == [("GroundFailure",), ("NoError",)]


def _iso(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_it_answers_an_unknown_vendors_data_transfer_and_keeps_it_for_staff(
    open_station, client
):
    charger = await _charger()
    staff = await db(StaffFactory)()
    station = await open_station(charger)
    payload = {"vendorId": "com.acme", "messageId": "FaultLog", "data": "E42 overcurrent"}

    answer = await station.call("DataTransfer", payload)

    # OCPP 1.6 4.3: no implementation for the vendorId -> UnknownVendorId, without data.
    assert answer[0] == 3 and answer[2] == {"status": "UnknownVendorId"}

    def logged():
        return list(
            OcppMessage.objects.filter(charger=charger, unique_id=answer[1])
            .order_by("created_at", "pk")
            .values_list("direction", "action", "frame")
        )

    rows = await eventually(logged, lambda rows: len(rows) == 2)
    assert [(direction, action) for direction, action, _ in rows] == [
        ("in", "DataTransfer"),
        ("out", ""),
    ]
    assert json.loads(rows[0][2])[3] == payload
    assert json.loads(rows[1][2])[2] == {"status": "UnknownVendorId"}

    await db(client.force_login)(staff)
    listed = await db(client.get)(
        f"/admin/charging/ocppmessage/?charger__id__exact={charger.pk}&action__exact=DataTransfer"
    )
    both = await db(client.get)(f"/admin/charging/ocppmessage/?q={answer[1]}")
    assert listed.status_code == 200
    page = listed.content.decode()
    assert "com.acme" in page and "E42 overcurrent" in page and "chargePointVendor" not in page
    assert "UnknownVendorId" in both.content.decode()


async def test_it_records_diagnostics_and_firmware_status_and_answers_data_transfer(open_station):
    charger = await _charger()
    station = await open_station(charger)
    assert await station.conf("DiagnosticsStatusNotification", {"status": "Uploaded"}) == {}
    assert await station.conf("FirmwareStatusNotification", {"status": "Installed"}) == {}
    conf = await station.conf("DataTransfer", {"vendorId": "com.acme", "data": "x"})
    assert conf == {"status": "UnknownVendorId"}
    charger = await _refresh(charger)
    assert (charger.diagnostics_status, charger.firmware_status) == ("Uploaded", "Installed")


# --- tags and transactions ----------------------------------------------------------------------


async def test_it_answers_authorize_by_the_tags_state(open_station):
    charger = await _charger()
    parent = await db(IdTagFactory)(id_tag="FAMILY")
    expiry = timezone.now() + timedelta(days=30)
    await db(IdTagFactory)(id_tag="GOOD", parent=parent, expires_at=expiry)
    await db(IdTagFactory)(id_tag="LOST", blocked=True)
    await db(IdTagFactory)(id_tag="OLD", expires_at=timezone.now() - timedelta(days=1))
    station = await open_station(charger)

    good = (await station.conf("Authorize", {"idTag": "GOOD"}))["idTagInfo"]
    assert good["status"] == "Accepted" and good["parentIdTag"] == "FAMILY"
    assert good["expiryDate"].startswith(expiry.astimezone(UTC).strftime("%Y-%m-%dT%H"))
    for id_tag, status in (("LOST", "Blocked"), ("OLD", "Expired"), ("WHO", "Invalid")):
        info = (await station.conf("Authorize", {"idTag": id_tag}))["idTagInfo"]
        assert info["status"] == status


def _start(id_tag="GOOD", connector_id=1, meter_start=1000, timestamp="2026-11-22T10:00:00Z"):
    return {
        "connectorId": connector_id,
        "idTag": id_tag,
        "meterStart": meter_start,
        "timestamp": timestamp,
    }


async def test_it_gives_a_retried_start_the_same_transaction_id(open_station):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD")
    station = await open_station(charger)
    first = await station.conf("StartTransaction", _start())
    again = await station.conf("StartTransaction", _start())
    assert first["idTagInfo"]["status"] == "Accepted"
    assert again == first
    assert 0 < first["transactionId"] <= 2**31 - 1
    assert await db(Transaction.objects.count)() == 1
    other = await station.conf("StartTransaction", _start(connector_id=2, id_tag="X"))
    assert other["transactionId"] != first["transactionId"]


async def test_it_answers_a_start_by_an_unknown_tag_with_an_id_and_records_it(open_station):
    charger = await _charger()
    station = await open_station(charger)
    conf = await station.conf("StartTransaction", _start(id_tag="STRANGER"))
    assert conf["idTagInfo"]["status"] == "Invalid" and conf["transactionId"] > 0
    assert await db(Anomaly.objects.filter(kind="start_not_accepted").exists)()


async def test_it_answers_concurrent_tx_when_a_tag_is_at_its_maximum(open_station):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD", max_concurrent_transactions=1)
    station = await open_station(charger)
    await station.conf("StartTransaction", _start(connector_id=1))
    second = await station.conf("StartTransaction", _start(connector_id=2))
    assert second["idTagInfo"]["status"] == "ConcurrentTx"


async def test_it_runs_a_session_and_computes_its_energy(open_station):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD")
    station = await open_station(charger)
    started = await station.conf("StartTransaction", _start(meter_start=1000))
    transaction_id = started["transactionId"]
    await station.conf(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": transaction_id,
            "meterValue": [
                {
                    "timestamp": "2026-11-22T10:15:00Z",
                    "sampledValue": [
                        {"value": "2500"},
                        {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                        {
                            "value": "16.1",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "phase": "L1",
                        },
                    ],
                }
            ],
        },
    )
    stop = await station.conf(
        "StopTransaction",
        {
            "transactionId": transaction_id,
            "meterStop": 8400,
            "timestamp": "2026-11-22T11:00:00Z",
            "idTag": "GOOD",
            "reason": "EVDisconnected",
        },
    )
    assert stop["idTagInfo"]["status"] == "Accepted"
    row = await db(Transaction.objects.get)(pk=transaction_id)
    assert str(row.energy_kwh) == "7.400"
    assert row.duration == timedelta(hours=1) and row.stop_reason == "EVDisconnected"
    samples = await db(
        lambda: list(MeterValue.objects.filter(transaction_id=transaction_id).order_by("pk"))
    )()
    register = samples[0]
    assert (register.measurand, register.unit, register.context, register.location) == (
        "Energy.Active.Import.Register",
        "Wh",
        "Sample.Periodic",
        "Outlet",
    )
    assert samples[2].phase == "L1" and samples[2].unit == "A"


async def test_it_keeps_live_power_at_the_newest_sample_when_queued_values_arrive_late(
    open_station,
):
    charger = await _charger()
    station = await open_station(charger)

    def power(at, kw):
        return {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": at,
                    "sampledValue": [
                        {"value": kw, "measurand": "Power.Active.Import", "unit": "kW"},
                        {"value": "12.5", "unit": "kWh"},
                    ],
                }
            ],
        }

    await db(IdTagFactory)(id_tag="GOOD")
    await station.conf("StartTransaction", _start(meter_start=0, timestamp="2026-11-22T08:00:00Z"))
    await station.conf("MeterValues", power("2026-11-22T10:30:00Z", "7.4"))
    await station.conf("MeterValues", power("2026-11-22T09:00:00Z", "3.0"))
    connector = await db(Connector.objects.get)(charger=charger, connector_id=1)
    assert str(connector.live_power_w) == "7400.0"
    assert str(connector.live_energy_kwh) == "12.500"
    times = await db(
        lambda: list(
            MeterValue.objects.filter(charger=charger).values_list("sampled_at", flat=True)
        )
    )()
    assert times == sorted(times)


async def test_it_stores_out_of_spec_measurands_instead_of_refusing_them(open_station):
    charger = await _charger()
    station = await open_station(charger)
    payload = {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": "2026-11-22T10:30:00Z",
                "sampledValue": [{"value": "ok", "measurand": "Vendor.Custom.Thing"}],
            }
        ],
    }
    answer = await station.call("MeterValues", payload)
    # The 1.6 schema enumerates measurands: a violation is answered, the connection stays up.
    assert answer[0] in (3, 4)
    assert (await station.conf("Heartbeat"))["currentTime"]


async def test_it_answers_stops_and_meter_values_for_bogus_transactions_and_records_them(
    open_station,
):
    charger = await _charger()
    station = await open_station(charger)
    bogus_ids = [0, -1, 9223372036854775807, 424242]
    for bogus in bogus_ids:
        conf = await station.conf(
            "StopTransaction",
            {"transactionId": bogus, "meterStop": 10, "timestamp": "2026-11-22T11:00:00Z"},
        )
        assert conf == {}
        meter = await station.conf(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": bogus,
                "meterValue": [
                    {"timestamp": "2026-11-22T10:30:00Z", "sampledValue": [{"value": "1"}]}
                ],
            },
        )
        assert meter == {}
    stops = await db(Anomaly.objects.filter(kind="stop_unknown_transaction").count)()
    assert stops == len(bogus_ids)
    assert await db(MeterValue.objects.filter(transaction=None).count)() == len(bogus_ids)


def _samples(transaction_id, at, *, register_wh, power_kw, connector_id=1):
    payload = {
        "connectorId": connector_id,
        "meterValue": [
            {
                "timestamp": at,
                "sampledValue": [
                    {"value": str(register_wh)},
                    {"value": str(power_kw), "measurand": "Power.Active.Import", "unit": "kW"},
                ],
            }
        ],
    }
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload


async def _live(charger, connector_id=1) -> tuple[str, str]:
    connector = await db(Connector.objects.get)(charger=charger, connector_id=connector_id)
    return str(connector.live_energy_kwh), str(connector.live_power_w)


async def test_it_never_applies_meter_values_of_an_unknown_transaction_to_the_running_session(
    open_station,
):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD")
    station = await open_station(charger)
    started = await station.conf("StartTransaction", _start(meter_start=1000))
    session = started["transactionId"]
    running = _samples(session, "2026-11-22T10:15:00Z", register_wh=2500, power_kw=7.2)
    await station.conf("MeterValues", running)
    assert await _live(charger) == ("1.500", "7200.0")

    for minute, bogus in enumerate((777777, 0, -1), start=20):
        at = f"2026-11-22T10:{minute}:00Z"
        conf = await station.conf("MeterValues", _samples(bogus, at, register_wh=5, power_kw=11))
        assert conf == {}

    assert await _live(charger) == ("1.500", "7200.0"), "the real session's figures stay"
    anomalies = await db(
        lambda: sorted(
            Anomaly.objects.filter(kind="meter_values_unknown_transaction").values_list(
                "detail__transaction_id", flat=True
            )
        )
    )()
    assert anomalies == [-1, 0, 777777]
    assert await db(MeterValue.objects.filter(transaction_id=session).count)() == 2
    assert await db(MeterValue.objects.filter(transaction=None).count)() == 6


async def test_it_never_applies_meter_values_naming_another_chargers_session(open_station):
    owner, other = await _charger(), await _charger()
    await db(IdTagFactory)(id_tag="GOOD")
    owner_station = await open_station(owner)
    session = (await owner_station.conf("StartTransaction", _start(meter_start=1000)))[
        "transactionId"
    ]
    other_station = await open_station(other)
    foreign = _samples(session, "2026-11-22T10:15:00Z", register_wh=99_000, power_kw=22)
    assert await other_station.conf("MeterValues", foreign) == {}
    assert await _live(owner) == ("0.000", "None")
    assert not await db(
        Connector.objects.filter(charger=other, live_power_w__isnull=False).exists
    )()
    assert await db(MeterValue.objects.filter(transaction_id=session).count)() == 0
    kinds = await db(lambda: list(Anomaly.objects.values_list("charger_id", "kind")))()
    assert kinds == [(other.pk, "meter_values_unknown_transaction")]


async def test_it_shows_the_sessions_energy_and_no_power_once_it_stops(open_station):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD")
    station = await open_station(charger)
    session = (await station.conf("StartTransaction", _start(meter_start=1000)))["transactionId"]
    assert await _live(charger) == ("0.000", "None"), "a new session starts at 0 kWh"
    running = _samples(session, "2026-11-22T10:15:00Z", register_wh=2500, power_kw=7.2)
    await station.conf("MeterValues", running)
    transaction_data = _samples(None, "2026-11-22T10:59:00Z", register_wh=8300, power_kw=6.9)
    await station.conf(
        "StopTransaction",
        {
            "transactionId": session,
            "meterStop": 8400,
            "timestamp": "2026-11-22T11:00:00Z",
            "transactionData": transaction_data["meterValue"],
        },
    )
    assert await _live(charger) == ("7.400", "0.0"), "meterStop - meterStart, no power"
    assert await db(MeterValue.objects.filter(transaction_id=session).count)() == 4

    late = _samples(session, "2026-11-22T11:05:00Z", register_wh=9000, power_kw=7)
    assert await station.conf("MeterValues", late) == {}
    other = _samples(session, "2026-11-22T11:06:00Z", register_wh=9100, power_kw=7, connector_id=2)
    assert await station.conf("MeterValues", other) == {}
    assert await _live(charger) == ("7.400", "0.0"), "a stopped session's samples change nothing"
    kinds = await db(lambda: sorted(Anomaly.objects.values_list("kind", flat=True)))()
    assert kinds == ["meter_values_stopped_transaction", "meter_values_stopped_transaction"]


async def test_a_late_stop_from_the_offline_queue_leaves_the_newer_sessions_figures(open_station):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD", max_concurrent_transactions=2)
    station = await open_station(charger)
    older = (await station.conf("StartTransaction", _start(meter_start=1000)))["transactionId"]
    newer_start = _start(meter_start=5000, timestamp="2026-11-22T11:00:00Z")
    newer = (await station.conf("StartTransaction", newer_start))["transactionId"]
    stop = {"meterStop": 6500, "timestamp": "2026-11-22T12:00:00Z", "transactionId": newer}
    await station.conf("StopTransaction", stop)
    assert await _live(charger) == ("1.500", "0.0")

    late = {"meterStop": 5000, "timestamp": "2026-11-22T10:50:00Z", "transactionId": older}
    await station.conf("StopTransaction", late)

    assert await _live(charger) == ("1.500", "0.0"), "the newer session's figures stay"
    assert str((await db(Transaction.objects.get)(pk=older)).energy_kwh) == "4.000"


async def test_it_applies_samples_on_another_connector_only_to_that_connectors_session(
    open_station,
):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD", max_concurrent_transactions=2)
    station = await open_station(charger)
    first = (await station.conf("StartTransaction", _start(meter_start=1000)))["transactionId"]
    await station.conf("StartTransaction", _start(connector_id=2, meter_start=50_000))
    misrouted = _samples(
        first, "2026-11-22T10:15:00Z", register_wh=60_000, power_kw=7, connector_id=2
    )
    assert await station.conf("MeterValues", misrouted) == {}
    assert await _live(charger, connector_id=2) == ("0.000", "None")
    unnamed = _samples(
        None, "2026-11-22T10:16:00Z", register_wh=52_000, power_kw=3.6, connector_id=2
    )
    await station.conf("MeterValues", unnamed)
    assert await _live(charger, connector_id=2) == ("2.000", "3600.0"), "its own session's"
    kinds = await db(lambda: list(Anomaly.objects.values_list("kind", flat=True)))()
    assert kinds == ["meter_values_other_connector"]


async def test_it_answers_a_replayed_stop_without_changing_the_session(open_station):
    charger = await _charger()
    await db(IdTagFactory)(id_tag="GOOD")
    station = await open_station(charger)
    transaction_id = (await station.conf("StartTransaction", _start()))["transactionId"]
    stop = {"transactionId": transaction_id, "meterStop": 5000, "timestamp": "2026-11-22T11:00:00Z"}
    await station.conf("StopTransaction", stop)
    replay = await station.conf("StopTransaction", stop | {"meterStop": 9999})
    assert replay == {}
    row = await db(Transaction.objects.get)(pk=transaction_id)
    assert row.meter_stop_wh == 5000
    assert await db(Anomaly.objects.filter(kind="stop_already_stopped").exists)()


async def test_it_accepts_a_stop_by_a_tag_sharing_the_parent_and_not_an_unrelated_one(
    open_station,
):
    charger = await _charger()
    family = await db(IdTagFactory)(id_tag="FAMILY")
    await db(IdTagFactory)(id_tag="MUM", parent=family)
    await db(IdTagFactory)(id_tag="DAD", parent=family)
    await db(IdTagFactory)(id_tag="NEIGHBOUR")
    station = await open_station(charger)
    first = (await station.conf("StartTransaction", _start(id_tag="MUM")))["transactionId"]
    second = await station.conf("StartTransaction", _start(id_tag="MUM", connector_id=2))
    by_dad = await station.conf(
        "StopTransaction",
        {
            "transactionId": first,
            "meterStop": 2000,
            "timestamp": "2026-11-22T11:00:00Z",
            "idTag": "DAD",
        },
    )
    assert by_dad["idTagInfo"]["status"] == "Accepted"
    by_neighbour = await station.conf(
        "StopTransaction",
        {
            "transactionId": second["transactionId"],
            "meterStop": 2000,
            "timestamp": "2026-11-22T11:00:00Z",
            "idTag": "NEIGHBOUR",
        },
    )
    assert by_neighbour["idTagInfo"]["status"] == "Invalid"


async def test_it_matches_tags_ignoring_case_as_an_ocpp_idtoken_is_case_insensitive(
    open_station,
):
    charger = await _charger()
    account = await db(CustomerAccountFactory)()
    family = await db(IdTagFactory)(id_tag="FAMILY")
    card = await db(IdTagFactory)(id_tag="04A2B3C4", account=account, parent=family)
    await db(IdTagFactory)(id_tag="Dad-Phone", parent=family)
    station = await open_station(charger)

    authorize = (await station.conf("Authorize", {"idTag": "04a2b3c4"}))["idTagInfo"]
    start = await station.conf("StartTransaction", _start(id_tag="04a2b3c4"))
    row = await db(Transaction.objects.get)(pk=start["transactionId"])
    stop = {"transactionId": row.pk, "meterStop": 2000, "timestamp": "2026-11-22T11:00:00Z"}
    by_other_case = await station.conf("StopTransaction", stop | {"idTag": "04A2b3C4"})
    second = await station.conf("StartTransaction", _start(id_tag="04A2B3C4", connector_id=2))
    by_group = await station.conf(
        "StopTransaction", stop | {"transactionId": second["transactionId"], "idTag": "DAD-PHONE"}
    )

    assert (authorize["status"], authorize["parentIdTag"]) == ("Accepted", "FAMILY")
    assert start["idTagInfo"]["status"] == "Accepted"
    assert (row.tag_id, row.account_id, row.id_tag) == (card.pk, account.pk, "04a2b3c4")
    assert by_other_case["idTagInfo"]["status"] == "Accepted"
    assert by_group["idTagInfo"]["status"] == "Accepted"


# --- bad input ----------------------------------------------------------------------------------


async def _still_up(station):
    assert (await station.conf("Heartbeat"))["currentTime"]


async def test_it_answers_invalid_json_with_formation_violation_and_stays_up(open_station):
    station = await open_station(await _charger())
    answer = await station.send_raw('[2, "abc", "Heartbeat", {')
    assert answer[:3] == [4, "-1", "FormationViolation"]
    await _still_up(station)


BAD_FRAMES = [
    ('[7, "u1", "Heartbeat", {}]', "PropertyConstraintViolation", "u1"),
    ('["2", "u2", "Heartbeat", {}]', "PropertyConstraintViolation", "u2"),
    ('{"not": "an array"}', "FormationViolation", "-1"),
    ('[2, "u3", "Heartbeat"]', "FormationViolation", "u3"),
    ("[2]", "FormationViolation", "-1"),
    ('[2, "u4", "Heartbeat", []]', "FormationViolation", "u4"),
    ('[2, "u5", "FlyToTheMoon", {}]', "NotImplemented", "u5"),
    ('[2, "u6", "Reset", {"type": "Hard"}]', "NotSupported", "u6"),
    ('[2, "u7", "Authorize", {}]', "OccurenceConstraintViolation", "u7"),
    ('[2, "u8", "Authorize", {"idTag": 12}]', "TypeConstraintViolation", "u8"),
    ('[2, "u9", "Heartbeat", {"extra": 1}]', "FormationViolation", "u9"),
    (
        '[2, "u10", "StatusNotification", '
        '{"connectorId": 1, "status": "Sleeping", "errorCode": "NoError"}]',
        "PropertyConstraintViolation",
        "u10",
    ),
    (
        '[2, "u11", "Authorize", {"idTag": "123456789012345678901"}]',
        "PropertyConstraintViolation",
        "u11",
    ),
]


async def test_it_answers_each_bad_frame_with_the_right_call_error_and_stays_up(open_station):
    station = await open_station(await _charger())
    for frame, code, unique_id in BAD_FRAMES:
        answer = await station.send_raw(frame)
        assert answer[0] == 4 and answer[2] == code and answer[1] == unique_id, (frame, answer)
        assert isinstance(answer[4], dict)
        await _still_up(station)


async def test_it_closes_with_4009_on_an_oversize_frame(open_station):
    charger = await _charger()
    station = await open_station(charger)
    huge = json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "y" * 70_000}])
    await station.ws.send_to(text_data=huge)
    closed = await station.ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4009}


@override_settings(CHARGING_RATE_LIMIT_BURST=5, CHARGING_RATE_LIMIT_PER_SECOND=0.001)
async def test_it_rate_limits_a_flood_with_generic_error_but_never_transaction_data(open_station):
    station = await open_station(await _charger())  # the boot took one token
    codes = [(await station.call("Heartbeat"))[0] for _ in range(6)]
    assert codes[:4] == [3, 3, 3, 3]
    assert codes[4:] == [4, 4]
    answer = await station.call("Heartbeat")
    assert answer[2] == "GenericError"
    # Transaction data is never refused: the charger would retry and then drop it.
    started = await station.conf("StartTransaction", _start(id_tag="ANY"))
    meter = {
        "connectorId": 1,
        "transactionId": started["transactionId"],
        "meterValue": [{"timestamp": "2026-11-22T10:30:00Z", "sampledValue": [{"value": "5"}]}],
    }
    assert await station.conf("MeterValues", meter) == {}
    stop = {
        "transactionId": started["transactionId"],
        "meterStop": 1500,
        "timestamp": "2026-11-22T11:00:00Z",
    }
    assert await station.conf("StopTransaction", stop) == {}


async def test_it_logs_every_frame_in_and_out(open_station):
    charger = await _charger()
    station = await open_station(charger)
    await station.send_raw("not json")

    def frames():
        return list(
            OcppMessage.objects.filter(charger=charger)
            .order_by("created_at", "pk")
            .values_list("direction", "action", "message_type")
        )

    assert await eventually(frames, lambda rows: len(rows) == 4) == [
        ("in", "BootNotification", 2),
        ("out", "", 3),
        ("in", "", None),
        ("out", "", 4),
    ]
