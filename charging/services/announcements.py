"""Telling people: a charger that faults or drops off the network, and a session that ends,
become notifications' events (mail to the owner and staff, webhooks), written in the caller's
transaction and dispatched after commit, so no OCPP answer waits for them."""

from notifications.services import events_publish

from ..models import Charger, Transaction


def charger_fault_announce(
    *, charger: Charger, connector_id: int, error_code: str, info: str = ""
) -> None:
    """A connector (0: the whole station) reported Faulted."""
    where = "the charger" if connector_id == 0 else f"connector {connector_id}"
    events_publish(
        kind="charger_fault",
        items=[
            (
                charger.account_id,
                {
                    "charger": charger.charge_point_id,
                    "connector_id": connector_id,
                    "reason": "faulted",
                    "error_code": error_code,
                    "info": info,
                    "message": (
                        f"Your charger {charger.charge_point_id} reports a fault on {where}"
                        f" ({error_code}{': ' + info if info else ''}). Charging may have stopped."
                    ),
                },
            )
        ],
    )


def chargers_offline_announce(*, chargers: list[tuple[str, int | None]]) -> None:
    """Chargers (charge point id, account id) that went silent past their heartbeat grace."""
    events_publish(
        kind="charger_fault",
        items=[
            (
                account_id,
                {
                    "charger": charge_point_id,
                    "connector_id": 0,
                    "reason": "offline",
                    "message": (
                        f"Your charger {charge_point_id} has stopped talking to us: it may have"
                        " lost power or its network connection."
                    ),
                },
            )
            for charge_point_id, account_id in chargers
        ],
    )


def session_ended_announce(*, charger: Charger, row: Transaction) -> None:
    events_publish(
        kind="session_ended",
        items=[
            (
                charger.account_id,
                {
                    "charger": charger.charge_point_id,
                    "connector_id": row.connector_id,
                    "transaction_id": row.pk,
                    "transaction_uid": row.transaction_uid or None,
                    "started_at": row.started_at,
                    "stopped_at": row.stopped_at,
                    "energy_kwh": row.energy_kwh,
                    "stop_reason": row.stop_reason,
                },
            )
        ],
    )
