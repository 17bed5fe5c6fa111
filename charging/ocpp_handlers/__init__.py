"""The central system's side of each OCPP-J version it speaks, for one connected charger:
``v16.CentralSystem`` (1.6J) and ``v201.CentralSystem201`` (2.0.1), on what ``base`` shares.
The consumer opens the one for the subprotocol it negotiated (``SUBPROTOCOLS``)."""

from ..models import OcppVersion
from .v16 import CentralSystem
from .v201 import CentralSystem201

# Websocket subprotocol -> the version it speaks and the central system that speaks it.
SUBPROTOCOLS = {
    "ocpp1.6": (OcppVersion.V16, CentralSystem),
    "ocpp2.0.1": (OcppVersion.V201, CentralSystem201),
}


def subprotocol_choose(offered: list[str], preference: list[str]) -> str | None:
    """The subprotocol to accept: the first of ``preference`` (settings.OCPP_VERSION_PREFERENCE)
    that the charger offered and this server speaks; None when there is none."""
    for name in preference:
        if name in offered and name in SUBPROTOCOLS:
            return name
    return None


__all__ = ["SUBPROTOCOLS", "CentralSystem", "CentralSystem201", "subprotocol_choose"]
