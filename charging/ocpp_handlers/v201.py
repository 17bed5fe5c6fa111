"""The CSMS side of OCPP 2.0.1 for one connected charging station.

As for 1.6 (``v16``), the ``ocpp`` library (its ``v201`` module and bundled schemas) does the
framing and routing, and this subclass adds what OCPP-J 2.0.1 asks that it leaves out:

- CALLERROR codes from the OCPP-J 2.0.1 list (section 4.3): RpcFrameworkError for a frame that
  is not an RPC (not JSON, not an array, no readable MessageId: answered with id "-1"),
  MessageTypeNotSupported for an unknown MessageTypeId, FormatViolation for a payload that is
  not an object or has properties its schema does not name, OccurrenceConstraintViolation
  (required / item counts), TypeConstraintViolation (a type), PropertyConstraintViolation
  (any other rule: enum, length, range), NotImplemented for an unknown action, NotSupported
  for a known one this side does not take.
- both directions are checked against the schemas: requests before a handler sees them, and
  each answer before it leaves (``ocpp_adapter.call_answer_checked``).
- before its BootNotification is Accepted, a station may send BootNotification; a Pending
  station also what provisioning makes it send (NotifyReport after GetBaseReport, the messages
  TriggerMessage asks for, status, firmware, log and security notifications). Anything else -
  and anything but BootNotification from a Rejected or not yet booted station - is answered
  SecurityError (B02/B03).
- TransactionEvent is always answered, also for a transaction never seen (a station emptying
  its offline queue would retry and finally drop the data); it is neither rate limited nor
  refused, nor is MeterValues.

Handlers touch the database only through ``charging.services`` and never call the station.
"""

from django.conf import settings
from ocpp.exceptions import SecurityError
from ocpp.messages import Call
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action, DataTransferStatusEnumType, RegistrationStatusEnumType

from .. import services
from ..db import db_call
from ..models import Registration
from ..ocpp_adapter import call_answer_checked
from .base import (
    CallErrorReply,
    CentralSystemBase,
    ErrorCodes,
    now_iso,
    schema_check,
)

VERSION = "2.0.1"

ERROR_CODES = ErrorCodes(
    not_rpc="RpcFrameworkError",
    bad_message_type="MessageTypeNotSupported",
    bad_call="RpcFrameworkError",
    bad_payload="FormatViolation",
    schema={
        "required": "OccurrenceConstraintViolation",
        "minItems": "OccurrenceConstraintViolation",
        "maxItems": "OccurrenceConstraintViolation",
        "type": "TypeConstraintViolation",
        "additionalProperties": "FormatViolation",
    },
)

# Requests a charging station sends to a CSMS in 2.0.1 (the rest of ``Action`` goes the other way).
CHARGER_ACTIONS = frozenset(
    {
        Action.authorize,
        Action.boot_notification,
        Action.cleared_charging_limit,
        Action.data_transfer,
        Action.firmware_status_notification,
        Action.get_15118_ev_certificate,
        Action.get_certificate_status,
        Action.heartbeat,
        Action.log_status_notification,
        Action.meter_values,
        Action.notify_charging_limit,
        Action.notify_customer_information,
        Action.notify_display_messages,
        Action.notify_ev_charging_needs,
        Action.notify_ev_charging_schedule,
        Action.notify_event,
        Action.notify_monitoring_report,
        Action.notify_report,
        Action.publish_firmware_status_notification,
        Action.report_charging_profiles,
        Action.reservation_status_update,
        Action.security_event_notification,
        Action.sign_certificate,
        Action.status_notification,
        Action.transaction_event,
    }
)
TRANSACTION_ACTIONS = frozenset({Action.transaction_event, Action.meter_values})
# What a Pending station may send besides BootNotification (B02: provisioning, triggered
# messages and notifications).
WHILE_PENDING = frozenset(
    {
        Action.heartbeat,
        Action.notify_report,
        Action.notify_event,
        Action.notify_monitoring_report,
        Action.status_notification,
        Action.firmware_status_notification,
        Action.log_status_notification,
        Action.security_event_notification,
    }
)


class CentralSystem201(CentralSystemBase, ChargePoint):
    """One 2.0.1 station's session. ``connection`` is the consumer (``recv()`` / ``send(text)``)."""

    ERROR_CODES = ERROR_CODES
    CHARGER_ACTIONS = CHARGER_ACTIONS
    ALL_ACTIONS = frozenset(Action)
    TRANSACTION_ACTIONS = TRANSACTION_ACTIONS
    CALLS, RESULTS = call, call_result

    def __init__(self, charger, connection):
        super().__init__(charger, connection)
        self.pending = False  # answered Pending on this connection

    def _check_allowed(self, msg: Call) -> None:
        if msg.action == Action.boot_notification or self.accepted:
            return
        if self.pending and msg.action in WHILE_PENDING:
            return
        raise CallErrorReply(
            msg.unique_id,
            SecurityError.code,
            "The station is not accepted: BootNotification first"
            + (" (Pending: provisioning messages only)" if self.pending else ""),
        )

    async def _dispatch_call(self, msg: Call) -> None:
        schema_check(msg, VERSION, ERROR_CODES, lenient={Action.boot_notification})
        await call_answer_checked(self, msg, VERSION)

    # --- handlers: B (provisioning) -------------------------------------------------------------

    @on(Action.boot_notification, skip_schema_validation=True)
    async def on_boot_notification(self, charging_station, reason, **payload):
        charger = await db_call(services.boot_notification_record)(
            charger=self.charger, payload=services.boot_fields_from_201(charging_station)
        )
        self.charger = charger
        self.accepted = charger.is_accepted
        self.pending = charger.registration == Registration.PENDING
        return call_result.BootNotification(
            current_time=now_iso(),
            interval=settings.CHARGING_HEARTBEAT_INTERVAL,
            status=RegistrationStatusEnumType(charger.registration),
        )

    @on(Action.notify_report, skip_schema_validation=True)
    async def on_notify_report(self, report_data=None, **payload):
        await db_call(services.device_model_record)(
            charger=self.charger, report_data=report_data or []
        )
        return call_result.NotifyReport()

    # --- handlers: C (authorization), E (transactions), J (meter values) ------------------------

    @on(Action.authorize, skip_schema_validation=True)
    async def on_authorize(self, id_token, **payload):
        info = await db_call(services.id_token_info_201)(id_token=id_token)
        return call_result.Authorize(id_token_info=info)

    @on(Action.transaction_event, skip_schema_validation=True)
    async def on_transaction_event(self, **payload):
        answer = await db_call(services.transaction_event_record)(
            charger=self.charger, event=payload
        )
        return call_result.TransactionEvent(**answer)

    @on(Action.meter_values, skip_schema_validation=True)
    async def on_meter_values(self, evse_id, meter_value, **payload):
        await db_call(services.meter_values_record)(
            charger=self.charger,
            connector_id=evse_id,
            meter_value=services.meter_values_from_201(meter_value),
        )
        return call_result.MeterValues()

    @on(Action.status_notification, skip_schema_validation=True)
    async def on_status_notification(self, timestamp, connector_status, evse_id, connector_id, **_):
        await db_call(services.status_notification_record)(
            charger=self.charger,
            connector_id=evse_id,
            status=connector_status,
            error_code="NoError",
            timestamp=timestamp,
            info=f"connector {connector_id}",
        )
        return call_result.StatusNotification()

    # --- handlers: notifications ----------------------------------------------------------------

    @on(Action.security_event_notification, skip_schema_validation=True)
    async def on_security_event(self, type, timestamp, tech_info=None, **payload):
        await db_call(services.charger_events_record)(
            charger=self.charger,
            kind="security",
            events=[{"type": type, "timestamp": timestamp, "tech_info": tech_info}],
        )
        return call_result.SecurityEventNotification()

    @on(Action.notify_event, skip_schema_validation=True)
    async def on_notify_event(self, generated_at, seq_no, event_data, **payload):
        await db_call(services.charger_events_record)(
            charger=self.charger,
            kind="monitoring",
            events=[
                {"type": event.get("trigger", ""), "timestamp": event.get("timestamp")} | event
                for event in event_data
            ],
        )
        return call_result.NotifyEvent()

    @on(Action.firmware_status_notification, skip_schema_validation=True)
    async def on_firmware_status(self, status, **payload):
        await db_call(services.firmware_status_record)(charger_id=self.charger.pk, status=status)
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification, skip_schema_validation=True)
    async def on_log_status(self, status, **payload):
        await db_call(services.diagnostics_status_record)(charger_id=self.charger.pk, status=status)
        return call_result.LogStatusNotification()

    @on(Action.reservation_status_update, skip_schema_validation=True)
    async def on_reservation_status(self, reservation_id, reservation_update_status, **payload):
        await db_call(services.reservation_status_update)(
            charger=self.charger, reservation_id=reservation_id, status=reservation_update_status
        )
        return call_result.ReservationStatusUpdate()

    @on(Action.report_charging_profiles, skip_schema_validation=True)
    async def on_report_charging_profiles(self, **payload):
        # The profiles a GetChargingProfiles asked for; they are in the frame log.
        return call_result.ReportChargingProfiles()

    @on(Action.notify_monitoring_report, skip_schema_validation=True)
    async def on_notify_monitoring_report(self, **payload):
        return call_result.NotifyMonitoringReport()

    @on(Action.data_transfer, skip_schema_validation=True)
    async def on_data_transfer(self, vendor_id, **payload):
        # No vendor extension is implemented; the frame itself is in the message log.
        return call_result.DataTransfer(status=DataTransferStatusEnumType.unknown_vendor_id)
