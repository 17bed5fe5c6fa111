"""The central system's side of OCPP 1.6J for one connected charger.

The ``ocpp`` library does the framing and routing; this subclass (with ``base``) adds what the
1.6 documents ask of a central system that the library leaves out or words differently:

- CALLERROR codes as OCPP-J 1.6 spells them (FormationViolation, OccurenceConstraintViolation;
  the errata keeps those spellings), and NotImplemented for an unknown action / NotSupported for
  a known one this side does not take (OCPP-J table 7).
- a frame that cannot be read still gets a CALLERROR (``base``).
- CALLs other than BootNotification before the charger is accepted get SecurityError (errata 3.8).
- a flood from one connection is answered GenericError without being processed - except for
  StartTransaction, StopTransaction and MeterValues: a charger emptying its offline queue sends
  those back to back, and a CALLERROR would make it retry and finally drop the data. They still
  use up the allowance (one connection has one CALL in flight, so it cannot outrun the server).
- over-long vendor strings in BootNotification are taken and logged, not refused.

Handlers only touch the database through ``charging.services``; none of them calls the charger
(a handler waiting for the charger would wait forever: its answer arrives through this same
consumer). Central-system CALLs run as tasks started by the consumer.
"""

from django.conf import settings
from ocpp.exceptions import SecurityError
from ocpp.messages import Call
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, DataTransferStatus, RegistrationStatus

from .. import services
from ..db import db_call
from ..ocpp_adapter import call_route
from .base import (
    CallErrorReply,
    CentralSystemBase,
    ErrorCodes,
    now_iso,
    schema_check,
)

# Actions a charge point sends to a central system in 1.6.
CHARGER_ACTIONS = frozenset(
    {
        Action.authorize,
        Action.boot_notification,
        Action.data_transfer,
        Action.diagnostics_status_notification,
        Action.firmware_status_notification,
        Action.heartbeat,
        Action.meter_values,
        Action.start_transaction,
        Action.status_notification,
        Action.stop_transaction,
    }
)

TRANSACTION_ACTIONS = frozenset(
    {Action.start_transaction, Action.stop_transaction, Action.meter_values}
)

# OCPP-J 1.6 spellings (the errata keeps them).
ERROR_CODES = ErrorCodes(
    not_rpc="FormationViolation",
    bad_message_type="PropertyConstraintViolation",
    bad_call="FormationViolation",
    bad_payload="FormationViolation",
    schema={
        "required": "OccurenceConstraintViolation",
        "minItems": "OccurenceConstraintViolation",
        "maxItems": "OccurenceConstraintViolation",
        "type": "TypeConstraintViolation",
        "additionalProperties": "FormationViolation",
    },
)


class CentralSystem(CentralSystemBase, ChargePoint):
    """One 1.6 charger's session. ``connection`` is the consumer (``recv()`` / ``send(text)``)."""

    ERROR_CODES = ERROR_CODES
    CHARGER_ACTIONS = CHARGER_ACTIONS
    ALL_ACTIONS = frozenset(Action)
    TRANSACTION_ACTIONS = TRANSACTION_ACTIONS
    CALLS, RESULTS = call, call_result

    def _check_allowed(self, msg: Call) -> None:
        if msg.action != Action.boot_notification and not self.accepted:
            raise CallErrorReply(
                msg.unique_id, SecurityError.code, "Charge point is not accepted; boot first"
            )

    async def _dispatch_call(self, msg: Call) -> None:
        # A small payload: cheaper inline than a hop to a thread. Validated here with the 1.6
        # error codes; the library's own pass is skipped per route.
        schema_check(msg, "1.6", ERROR_CODES, lenient={Action.boot_notification})
        await call_route(self, msg)

    # --- handlers -------------------------------------------------------------------------------

    @on(Action.boot_notification, skip_schema_validation=True)
    async def on_boot_notification(self, **payload):
        charger = await db_call(services.boot_notification_record)(
            charger=self.charger, payload=payload
        )
        self.charger = charger
        self.accepted = charger.is_accepted
        return call_result.BootNotification(
            current_time=now_iso(),
            interval=settings.CHARGING_HEARTBEAT_INTERVAL,
            status=RegistrationStatus(charger.registration),
        )

    @on(Action.authorize, skip_schema_validation=True)
    async def on_authorize(self, id_tag, **payload):
        info = await db_call(services.id_tag_info)(id_tag=id_tag)
        return call_result.Authorize(id_tag_info=info)

    @on(Action.start_transaction, skip_schema_validation=True)
    async def on_start_transaction(self, **payload):
        result = await db_call(services.transaction_start)(charger=self.charger, **payload)
        return call_result.StartTransaction(
            transaction_id=result.transaction.pk, id_tag_info=result.id_tag_info
        )

    @on(Action.stop_transaction, skip_schema_validation=True)
    async def on_stop_transaction(self, **payload):
        info = await db_call(services.transaction_stop)(charger=self.charger, **payload)
        return call_result.StopTransaction(id_tag_info=info)

    @on(Action.meter_values, skip_schema_validation=True)
    async def on_meter_values(self, **payload):
        await db_call(services.meter_values_record)(charger=self.charger, **payload)
        return call_result.MeterValues()

    @on(Action.status_notification, skip_schema_validation=True)
    async def on_status_notification(self, **payload):
        await db_call(services.status_notification_record)(charger=self.charger, **payload)
        return call_result.StatusNotification()

    @on(Action.data_transfer, skip_schema_validation=True)
    async def on_data_transfer(self, vendor_id, **payload):
        # No vendor extension is implemented; the frame itself is in the message log.
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @on(Action.diagnostics_status_notification, skip_schema_validation=True)
    async def on_diagnostics_status(self, status, **payload):
        await db_call(services.diagnostics_status_record)(charger_id=self.charger.pk, status=status)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification, skip_schema_validation=True)
    async def on_firmware_status(self, status, **payload):
        await db_call(services.firmware_status_record)(charger_id=self.charger.pk, status=status)
        return call_result.FirmwareStatusNotification()
