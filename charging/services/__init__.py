"""Every write of the charging app, one module per concern. The OCPP handlers, the API, the
admin and the beat tasks all come through here, so a rule holds whichever door the data came in
by. Other modules and apps import these names from ``charging.services``."""

from ..models import ENERGY_REGISTER
from .chargers import (
    CHARGE_POINT_ID_MAX,
    CHARGER_CHANGES,
    UNAUTHENTICATED_ACCEPT_REFUSED,
    charge_point_id_validate,
    charger_delete,
    charger_password_validate,
    charger_register,
    charger_set_password,
    charger_set_registration,
    charger_update,
)
from .command_versions import OPERATIONS_201, OPERATIONS_BY_VERSION, profile_to_201
from .commands import (
    ACCEPTED_ANSWERS,
    CUSTOMER_OPERATIONS,
    KEY_MASK,
    NOT_WHILE_PENDING,
    OPERATIONS,
    charger_key_rotate,
    command_await,
    command_complete,
    command_create,
    command_expire,
)
from .common import parse_ocpp_time
from .connections import (
    charger_authenticate,
    charger_connection_close,
    charger_connection_open,
    chargers_mark_offline,
    chargers_release_dead_nodes,
    charging_node_gone,
    charging_node_heartbeat,
    charging_node_release,
    node_of,
)
from .frames import ocpp_messages_purge, ocpp_messages_record
from .handshake import charger_connection_take
from .meter_values import meter_values_record
from .stations import (
    boot_fields_from_201,
    charger_events_record,
    device_model_record,
    id_token_info_201,
    meter_values_from_201,
    reservation_status_update,
)
from .status import (
    VENDOR_STRING_MAX,
    boot_notification_record,
    diagnostics_status_record,
    firmware_status_record,
    heartbeat_record,
    heartbeats_record,
    status_notification_record,
)
from .tags import (
    ID_TAG_CHANGES,
    ID_TOKEN_MAX,
    id_tag_create,
    id_tag_info,
    id_tag_update,
    id_token_validate,
)
from .transaction_events import transaction_event_record
from .transactions import StartResult, transaction_start, transaction_stop

__all__ = [
    "ACCEPTED_ANSWERS",
    "CHARGER_CHANGES",
    "CHARGE_POINT_ID_MAX",
    "CUSTOMER_OPERATIONS",
    "ENERGY_REGISTER",
    "ID_TAG_CHANGES",
    "ID_TOKEN_MAX",
    "KEY_MASK",
    "NOT_WHILE_PENDING",
    "OPERATIONS",
    "OPERATIONS_201",
    "OPERATIONS_BY_VERSION",
    "UNAUTHENTICATED_ACCEPT_REFUSED",
    "VENDOR_STRING_MAX",
    "StartResult",
    "boot_fields_from_201",
    "boot_notification_record",
    "charge_point_id_validate",
    "charger_authenticate",
    "charger_connection_close",
    "charger_connection_open",
    "charger_connection_take",
    "charger_delete",
    "charger_events_record",
    "charger_key_rotate",
    "charger_password_validate",
    "charger_register",
    "charger_set_password",
    "charger_set_registration",
    "charger_update",
    "chargers_mark_offline",
    "chargers_release_dead_nodes",
    "charging_node_gone",
    "charging_node_heartbeat",
    "charging_node_release",
    "command_await",
    "command_complete",
    "command_create",
    "command_expire",
    "device_model_record",
    "diagnostics_status_record",
    "firmware_status_record",
    "heartbeat_record",
    "heartbeats_record",
    "id_tag_create",
    "id_tag_info",
    "id_tag_update",
    "id_token_info_201",
    "id_token_validate",
    "meter_values_from_201",
    "meter_values_record",
    "node_of",
    "ocpp_messages_purge",
    "ocpp_messages_record",
    "parse_ocpp_time",
    "profile_to_201",
    "reservation_status_update",
    "status_notification_record",
    "transaction_event_record",
    "transaction_start",
    "transaction_stop",
]
