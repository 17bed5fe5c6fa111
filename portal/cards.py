"""The battery and charger cards of a customer's dashboard, read through the batteries and
charging apps' user-scoped selectors. A card is left out (None) when its app is not installed or
the account has no such device, so the dashboard works without them."""

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from accounts.models import CustomerAccount, User

from .selectors import as_float


def account_cards(*, user: User, account: CustomerAccount) -> dict:
    return {
        "batteries": battery_cards(user=user, account=account),
        "chargers": charger_cards(user=user, account=account),
    }


def _when(value) -> str | None:
    return None if value is None else value.isoformat()


def _url(name: str, *args) -> str | None:
    """The owning app's page for the device, where the customer acts on it (start/stop)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def battery_cards(*, user: User, account: CustomerAccount) -> list[dict] | None:
    if not apps.is_installed("batteries"):
        return None
    try:
        from batteries import selectors as battery_selectors
    except ImportError:
        return None
    batteries = battery_selectors.battery_list(
        user=user, filters={"account": account.account_number}
    )[:10]
    return [
        {
            "identifier": battery.identifier,
            "location": battery.location,
            "soc_percent": as_float(battery.soc_percent),
            "power_kw": as_float(battery.power_kw),
            "status": battery.get_status_display(),
            "last_seen": _when(battery.last_seen),
            "url": _url("batteries:detail", battery.identifier),
            "alerts": [
                {"severity": alert.severity, "message": alert.message}
                for alert in battery_selectors.battery_alerts(
                    battery=battery, unresolved_only=True
                )[:5]
            ],
        }
        for battery in batteries
    ]


def charger_cards(*, user: User, account: CustomerAccount) -> list[dict] | None:
    if not apps.is_installed("charging"):
        return None
    try:
        from charging import selectors as charging_selectors
    except ImportError:
        return None
    chargers = charging_selectors.chargers_for_user(user=user).filter(account=account)[:10]
    cards = []
    for charger in chargers:
        connectors = [c for c in charger.connectors.all() if c.connector_id != 0]
        cards.append(
            {
                "id": charger.pk,
                "charge_point_id": charger.charge_point_id,
                "connected": charger.connected,
                "url": _url("charging:charger-detail", charger.pk),
                "connectors": [
                    {
                        "connector_id": c.connector_id,
                        "status": c.status,
                        "error_code": c.error_code,
                        "live_power_w": as_float(c.live_power_w),
                        "live_energy_kwh": as_float(c.live_energy_kwh),
                    }
                    for c in connectors
                ],
            }
        )
    return cards
