"""OCPP 2.0.1 on /ocpp/<id>: version negotiation, the station's messages and their answers, the
2.0.1 RPC error codes, and TransactionEvent sessions (retries, late and out-of-order events)."""

from decimal import Decimal

import pytest
from django.test import override_settings

from charging.models import (
    Anomaly,
    Charger,
    ChargerEvent,
    Connector,
    DeviceModelVariable,
    MeterValue,
    OcppVersion,
    Registration,
    Transaction,
    TransactionEvent,
)
from notifications.models import Event, WebhookEndpoint
from notifications.services import webhook_endpoint_save

from .conftest import db
from .factories import ChargerFactory, IdTagFactory

pytestmark = pytest.mark.django_db(transaction=True)

V201 = ("ocpp2.0.1",)
BOOT = {
    "chargingStation": {"model": "Wallbox 22", "vendorName": "Acme", "serialNumber": "S-1"},
    "reason": "PowerUp",
}


async def open_201(open_station, charger, *, boot=True, subprotocols=V201):
    station = await open_station(charger, subprotocols=subprotocols, boot=False)
    if boot:
        assert (await station.conf("BootNotification", BOOT))["status"] == "Accepted"
    return station


def energy(wh, at, context="Sample.Periodic"):
    return [
        {
            "timestamp": at,
            "sampledValue": [
                {"value": wh, "context": context, "measurand": "Energy.Active.Import.Register"}
            ],
        }
    ]


def event(kind, seq, at, *, uid="tx-1", trigger="Authorized", **extra):
    return {
        "eventType": kind,
        "timestamp": at,
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": {"transactionId": uid} | extra.pop("info", {}),
        **extra,
    }


# --- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "offered, preference, chosen, version",
    [
        (["ocpp1.6", "ocpp2.0.1"], ["ocpp2.0.1", "ocpp1.6"], "ocpp2.0.1", OcppVersion.V201),
        (["ocpp2.0.1", "ocpp1.6"], ["ocpp1.6", "ocpp2.0.1"], "ocpp1.6", OcppVersion.V16),
        (["ocpp2.0.1"], ["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1", OcppVersion.V201),
        (["ocpp2.0", "ocpp1.6"], ["ocpp2.0.1", "ocpp1.6"], "ocpp1.6", OcppVersion.V16),
    ],
)
async def test_it_accepts_the_preferred_subprotocol_the_charger_offers_and_stores_the_version(
    open_station, offered, preference, chosen, version
):
    charger = await db(ChargerFactory)(ocpp_version=OcppVersion.V16 if "2" in chosen else "2.0.1")
    with override_settings(OCPP_VERSION_PREFERENCE=preference):
        station = await open_station(charger, subprotocols=offered, boot=False)
    assert station.connected and station.subprotocol == chosen
    stored = await db(Charger.objects.get)(pk=charger.pk)
    assert stored.ocpp_version == version and stored.connected


async def test_it_closes_4002_when_no_offered_subprotocol_is_one_it_speaks(open_station):
    charger = await db(ChargerFactory)()
    station = await open_station(charger, subprotocols=["ocpp2.0"], expect_connected=False)
    assert station.subprotocol is None
    closed = await station.ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4002}


# --- provisioning ----------------------------------------------------------------------------


async def test_it_boots_a_station_and_stores_what_it_says_about_itself(open_station):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger, boot=False)
    conf = await station.conf("BootNotification", BOOT)
    assert conf["status"] == "Accepted" and conf["interval"] > 0 and conf["currentTime"]
    stored = await db(Charger.objects.get)(pk=charger.pk)
    assert (stored.vendor, stored.model, stored.serial_number) == ("Acme", "Wallbox 22", "S-1")
    assert stored.booted_at is not None
    assert set(await station.conf("Heartbeat")) == {"currentTime"}


async def test_a_pending_station_may_be_provisioned_but_not_charge(open_station):
    charger = await db(ChargerFactory)(registration=Registration.PENDING)
    station = await open_201(open_station, charger, boot=False)
    assert (await station.conf("BootNotification", BOOT))["status"] == "Pending"
    report = {
        "requestId": 1,
        "generatedAt": "2026-12-03T09:00:00Z",
        "seqNo": 0,
        "reportData": [
            {
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "SecurityProfile"},
                "variableAttribute": [{"value": "1", "mutability": "ReadOnly"}],
                "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
            }
        ],
    }
    assert await station.conf("NotifyReport", report) == {}
    variable = await db(DeviceModelVariable.objects.get)(charger=charger)
    assert (variable.component, variable.variable, variable.value) == (
        "SecurityCtrlr",
        "SecurityProfile",
        "1",
    )
    refused = await station.call("Authorize", {"idToken": {"idToken": "A", "type": "ISO14443"}})
    assert refused[0] == 4 and refused[2] == "SecurityError"


async def test_a_rejected_station_may_only_boot(open_station):
    charger = await db(ChargerFactory)(registration=Registration.REJECTED)
    station = await open_201(open_station, charger, boot=False)
    assert (await station.conf("BootNotification", BOOT))["status"] == "Rejected"
    assert (await station.call("Heartbeat"))[2] == "SecurityError"


# --- RPC errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame, unique_id, code",
    [
        ("not json", "-1", "RpcFrameworkError"),
        ('{"a": 1}', "-1", "RpcFrameworkError"),
        ('[2, 17, "Heartbeat", {}]', "-1", "RpcFrameworkError"),
        ('[7, "m1", "Heartbeat", {}]', "m1", "MessageTypeNotSupported"),
        ('[2, "m2", 5, {}]', "m2", "RpcFrameworkError"),
        ('[2, "m3", "Heartbeat", []]', "m3", "FormatViolation"),
        ('[2, "m4", "Heartbeat", {"extra": 1}]', "m4", "FormatViolation"),
        (
            '[2, "m5", "BootNotification", {"reason": "PowerUp"}]',
            "m5",
            "OccurrenceConstraintViolation",
        ),
        (
            '[2, "m6", "StatusNotification", {"timestamp": "2026-12-03T09:00:00Z", '
            '"connectorStatus": "Available", "evseId": "1", "connectorId": 1}]',
            "m6",
            "TypeConstraintViolation",
        ),
        (
            '[2, "m7", "StatusNotification", {"timestamp": "2026-12-03T09:00:00Z", '
            '"connectorStatus": "Charging", "evseId": 1, "connectorId": 1}]',
            "m7",
            "PropertyConstraintViolation",
        ),
        ('[2, "m8", "NoSuchAction", {}]', "m8", "NotImplemented"),
        ('[2, "m9", "SignCertificate", {"csr": "x"}]', "m9", "NotSupported"),
        ('[2, "m10", "Reset", {"type": "Immediate"}]', "m10", "NotSupported"),
    ],
)
async def test_it_answers_bad_frames_with_the_2_0_1_error_codes(
    open_station, frame, unique_id, code
):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)
    answer = await station.send_raw(frame)
    assert answer[0] == 4 and answer[1] == unique_id and answer[2] == code, answer
    assert set(await station.conf("Heartbeat")) == {"currentTime"}  # still connected


async def test_a_1_6_charger_keeps_the_1_6_spellings(open_station):
    charger = await db(ChargerFactory)()
    station = await open_station(charger, subprotocols=["ocpp1.6"])
    assert (await station.send_raw("not json"))[2] == "FormationViolation"
    assert (await station.send_raw('[2, "x", "BootNotification", {}]'))[2] == (
        "OccurenceConstraintViolation"
    )


# --- authorization, status, meter values, notifications --------------------------------------


async def test_it_answers_authorize_with_the_tags_status_and_unknown_for_a_stranger(open_station):
    await db(IdTagFactory)(id_tag="CARD1")
    await db(IdTagFactory)(id_tag="CARD2", blocked=True)
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)

    async def status(value, kind="ISO14443"):
        conf = await station.conf("Authorize", {"idToken": {"idToken": value, "type": kind}})
        return conf["idTokenInfo"]["status"]

    assert await status("card1") == "Accepted"
    assert await status("CARD2") == "Blocked"
    assert await status("NOBODY") == "Unknown"
    assert await status("", "NoAuthorization") == "Accepted"


async def test_status_notification_moves_the_evse_connector(open_station):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)
    payload = {
        "timestamp": "2026-12-03T09:00:00Z",
        "connectorStatus": "Occupied",
        "evseId": 1,
        "connectorId": 1,
    }
    assert await station.conf("StatusNotification", payload) == {}
    connector = await db(Connector.objects.get)(charger=charger, connector_id=1)
    assert connector.status == "Occupied"


async def test_meter_values_are_stored_with_their_multiplier_applied(open_station):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)
    sample = {
        "value": 1.5,
        "measurand": "Energy.Active.Import.Register",
        "unitOfMeasure": {"unit": "kWh", "multiplier": 1},
    }
    payload = {
        "evseId": 1,
        "meterValue": [{"timestamp": "2026-12-03T09:00:00Z", "sampledValue": [sample]}],
    }
    assert await station.conf("MeterValues", payload) == {}
    stored = await db(MeterValue.objects.get)(charger=charger)
    assert (stored.numeric, stored.unit, stored.connector_id) == (Decimal(15), "kWh", 1)


async def test_notifications_are_answered_and_kept(open_station):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)
    assert (
        await station.conf(
            "SecurityEventNotification",
            {"type": "FirmwareUpdated", "timestamp": "2026-12-03T09:00:00Z", "techInfo": "v2"},
        )
        == {}
    )
    notify = {
        "generatedAt": "2026-12-03T09:00:00Z",
        "seqNo": 0,
        "eventData": [
            {
                "eventId": 1,
                "timestamp": "2026-12-03T09:00:00Z",
                "trigger": "Alerting",
                "actualValue": "90",
                "eventNotificationType": "HardWiredMonitor",
                "component": {"name": "EVSE"},
                "variable": {"name": "Temperature"},
            }
        ],
    }
    assert await station.conf("NotifyEvent", notify) == {}
    assert await station.conf("FirmwareStatusNotification", {"status": "Installed"}) == {}
    assert await station.conf("LogStatusNotification", {"status": "Uploaded"}) == {}
    assert (await station.conf("DataTransfer", {"vendorId": "x"}))["status"] == "UnknownVendorId"
    kinds = await db(lambda: sorted(ChargerEvent.objects.values_list("kind", "type")))()
    assert kinds == [("monitoring", "Alerting"), ("security", "FirmwareUpdated")]
    stored = await db(Charger.objects.get)(pk=charger.pk)
    assert (stored.firmware_status, stored.diagnostics_status) == ("Installed", "Uploaded")


# --- transactions ----------------------------------------------------------------------------


async def test_a_full_session_is_one_transaction_with_its_energy(open_station):
    tag = await db(IdTagFactory)(id_tag="CARD9")
    charger = await db(ChargerFactory)()
    await db(webhook_endpoint_save)(
        endpoint=WebhookEndpoint(name="Fleet", url="http://127.0.0.1:9/", kinds=["session_ended"])
    )
    station = await open_201(open_station, charger)
    token = {"idToken": "CARD9", "type": "ISO14443"}
    started = event(
        "Started",
        0,
        "2026-12-03T09:00:00Z",
        idToken=token,
        evse={"id": 1, "connectorId": 1},
        meterValue=energy(1000, "2026-12-03T09:00:00Z", "Transaction.Begin"),
    )
    conf = await station.conf("TransactionEvent", started)
    assert conf["idTokenInfo"]["status"] == "Accepted"
    updated = event(
        "Updated",
        1,
        "2026-12-03T09:30:00Z",
        trigger="MeterValuePeriodic",
        meterValue=energy(4000, "2026-12-03T09:30:00Z"),
        info={"chargingState": "Charging"},
    )
    assert await station.conf("TransactionEvent", updated) == {}
    ended = event(
        "Ended",
        2,
        "2026-12-03T10:00:00Z",
        trigger="EVCommunicationLost",
        meterValue=energy(8500, "2026-12-03T10:00:00Z", "Transaction.End"),
        info={"stoppedReason": "EVDisconnected"},
    )
    assert await station.conf("TransactionEvent", ended) == {}
    row = await db(Transaction.objects.get)(charger=charger)
    assert (row.transaction_uid, row.connector_id, row.tag_id) == ("tx-1", 1, tag.pk)
    assert (row.meter_start_wh, row.meter_stop_wh, row.energy_kwh) == (1000, 8500, Decimal("7.5"))
    assert row.stop_reason == "EVDisconnected" and row.stopped_at.hour == 10
    assert row.authorization_status == "Accepted"
    assert await station.conf("TransactionEvent", ended) == {}  # a retry ends nothing twice
    (told,) = await db(list)(Event.objects.filter(kind="session_ended"))
    assert told.payload["transaction_uid"] == "tx-1" and told.payload["energy_kwh"] == "7.500"


async def test_a_retried_event_is_stored_and_applied_once(open_station):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)
    started = event(
        "Started",
        0,
        "2026-12-03T09:00:00Z",
        evse={"id": 1},
        meterValue=energy(100, "2026-12-03T09:00:00Z"),
    )
    for _ in range(3):
        assert await station.conf("TransactionEvent", started) == {}
    assert await db(TransactionEvent.objects.filter(charger=charger).count)() == 1
    assert await db(MeterValue.objects.filter(charger=charger).count)() == 1
    assert await db(Transaction.objects.filter(charger=charger).count)() == 1


async def test_late_offline_events_out_of_order_still_make_the_session(open_station):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)
    uid = "0123456789abcdef0123456789abcdef0123"  # 36 characters
    ended = event(
        "Ended",
        2,
        "2026-12-03T08:00:00Z",
        uid=uid,
        offline=True,
        meterValue=energy(3000, "2026-12-03T08:00:00Z"),
    )
    started = event(
        "Started",
        0,
        "2026-12-03T07:00:00Z",
        uid=uid,
        offline=True,
        evse={"id": 2},
        meterValue=energy(1000, "2026-12-03T07:00:00Z"),
    )
    assert await station.conf("TransactionEvent", ended) == {}
    assert await station.conf("TransactionEvent", started) == {}
    row = await db(Transaction.objects.get)(charger=charger, transaction_uid=uid)
    assert (row.started_at.hour, row.stopped_at.hour, row.connector_id) == (7, 8, 2)
    assert row.energy_kwh == Decimal("2.000")
    kinds = await db(lambda: list(Anomaly.objects.values_list("kind", flat=True)))()
    assert "transaction_event_without_start" in kinds


async def test_an_unknown_transaction_is_answered_and_kept(open_station):
    charger = await db(ChargerFactory)()
    station = await open_201(open_station, charger)
    updated = event(
        "Updated",
        7,
        "2026-12-03T09:00:00Z",
        uid="never-started",
        idToken={"idToken": "STRANGER", "type": "ISO14443"},
    )
    conf = await station.conf("TransactionEvent", updated)
    assert conf["idTokenInfo"]["status"] == "Unknown"
    assert await db(Transaction.objects.filter(transaction_uid="never-started").exists)()
