"""A customer's open charging page follows their charger live: a real daphne on the test database
(Redis channel layer and cache shared with this process), a charger speaking OCPP 1.6J over a real
websocket to it, and Debian's Chromium holding /charging/<pk>/ open on /ws/live/.

Pushes go only to groups with an open socket (accounts.live ``watched``), so the page's socket is
seen open (its "hello" frame) before the charger acts."""

import base64
import itertools
import json
import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from accounts.tests.factories import PASSWORD, CustomerAccountFactory, UserFactory

from .factories import CHARGER_PASSWORD, ChargerFactory, IdTagFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAIT_MS = 5000
_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station:
    """A charger on a real websocket (websockets' thread-based client: no event loop of its own,
    so it runs beside Playwright's in this thread), sending raw OCPP-J frames."""

    def __init__(self, ws_url: str, charge_point_id: str):
        token = base64.b64encode(f"{charge_point_id}:{CHARGER_PASSWORD}".encode()).decode()
        self.socket = connect(
            f"{ws_url}/ocpp/{charge_point_id}",
            subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": f"Basic {token}"},
        )

    def conf(self, action: str, payload: dict) -> dict:
        unique_id = f"b{next(_ids)}"
        self.socket.send(json.dumps([2, unique_id, action, payload]))
        answer = json.loads(self.socket.recv(timeout=10))
        assert answer[:2] == [3, unique_id], answer
        return answer[2]

    def status(self, connector_id: int, status: str) -> None:
        self.conf(
            "StatusNotification",
            {
                "connectorId": connector_id,
                "errorCode": "NoError",
                "status": status,
                "timestamp": _now(),
            },
        )

    def meter_values(self, session: int, wh: str, power: str, unit: str) -> None:
        """One MeterValues sample: the energy register (Wh) and the power."""
        self.conf(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": session,
                "meterValue": [
                    {
                        "timestamp": _now(),
                        "sampledValue": [
                            {"value": wh, "measurand": "Energy.Active.Import.Register"},
                            {"value": power, "measurand": "Power.Active.Import", "unit": unit},
                        ],
                    }
                ],
            },
        )

    def close(self) -> None:
        self.socket.close()


class Portal:
    """A logged-in customer's page, with every /ws/live/ frame it receives."""

    def __init__(self, page, base: str, user):
        self.page = page
        self.frames: list[dict] = []
        page.on("websocket", self._socket)
        page.goto(f"{base}/login/")
        page.get_by_label("Email address").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/")

    def _socket(self, socket) -> None:
        if socket.url.endswith("/ws/live/"):
            socket.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    def kinds(self) -> list[str]:
        return [frame["kind"] for frame in self.frames]

    def open(self, url: str) -> None:
        """Open ``url`` and wait until its live socket is open (the server said hello): only
        then are the account's groups marked watched."""
        self.page.goto(url)
        deadline = time.monotonic() + WAIT_MS / 1000
        while "hello" not in self.kinds():
            assert time.monotonic() < deadline, "the page's live socket did not open"
            self.page.wait_for_timeout(50)

    def connectors(self):
        return self.page.locator("section[aria-labelledby=connectors-heading] tbody tr")

    def cells(self, row: int):
        return self.connectors().nth(row).locator("td")

    def charging_now(self):
        return self.page.locator("section[aria-labelledby=session-heading]")


def _customer():
    user = UserFactory()
    account = CustomerAccountFactory(users=[user])
    return user, account


def test_the_charging_page_follows_the_charger_without_a_reload(
    browser, page, daphne_server, console_errors
):
    owner, account = _customer()
    neighbour, neighbours_account = _customer()
    charger = ChargerFactory(account=account)
    neighbours_charger = ChargerFactory(account=neighbours_account)
    tag = IdTagFactory(account=account)

    station = Station(daphne_server.ws_url, charger.charge_point_id)
    try:
        assert (
            station.conf(
                "BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "Wallbox 7"}
            )["status"]
            == "Accepted"
        )

        portal = Portal(page, daphne_server.url, owner)
        portal.open(f"{daphne_server.url}/charging/{charger.pk}/")
        # The neighbour watches their own charger's page at the same time.
        other_context = browser.new_context()
        other_page = other_context.new_page()
        other_errors = []
        other_page.on("pageerror", lambda exc: other_errors.append(str(exc)))
        neighbours = Portal(other_page, daphne_server.url, neighbour)
        neighbours.open(f"{daphne_server.url}/charging/{neighbours_charger.pk}/")
        expect(neighbours.connectors()).to_have_text(
            ["The charger has not reported its connectors yet."]
        )

        expect(page.get_by_text("Online")).to_be_visible()
        expect(portal.connectors()).to_have_text(
            ["The charger has not reported its connectors yet."]
        )
        expect(portal.charging_now()).to_contain_text("Not charging.")
        page.evaluate("window.notReloaded = true")

        station.status(1, "Preparing")
        expect(portal.connectors()).to_have_count(1, timeout=WAIT_MS)
        expect(portal.cells(0).nth(0)).to_have_text("Preparing", timeout=WAIT_MS)

        started = station.conf(
            "StartTransaction",
            {"connectorId": 1, "idTag": tag.id_tag, "meterStart": 1000, "timestamp": _now()},
        )
        assert started["idTagInfo"]["status"] == "Accepted"
        session = started["transactionId"]
        expect(portal.charging_now()).to_contain_text(
            f"Session {session} on connector 1 with tag {tag.id_tag}", timeout=WAIT_MS
        )
        expect(page.get_by_role("button", name="Stop charging")).to_be_visible()
        recent = page.locator("section[aria-labelledby=recent-heading] tbody tr")
        expect(recent).to_have_count(1, timeout=WAIT_MS)
        expect(recent.first.locator("td").nth(1)).to_have_text("charging")

        station.status(1, "Charging")
        expect(portal.cells(0).nth(0)).to_have_text("Charging", timeout=WAIT_MS)

        station.meter_values(session, "2600", "7.2", "kW")
        expect(portal.cells(0).nth(1)).to_have_text("7200 W", timeout=WAIT_MS)
        # The session's energy: register 2,600 Wh less meterStart 1,000 Wh.
        expect(portal.cells(0).nth(2)).to_have_text("1.600 kWh", timeout=WAIT_MS)

        stopped = station.conf(
            "StopTransaction",
            {"transactionId": session, "meterStop": 4100, "timestamp": _now()},
        )
        assert stopped == {} or stopped["idTagInfo"]["status"] == "Accepted"
        expect(portal.charging_now()).to_contain_text("Not charging.", timeout=WAIT_MS)
        expect(recent.first.locator("td").nth(2)).to_have_text("3.100 kWh", timeout=WAIT_MS)
        station.status(1, "Available")
        expect(portal.cells(0).nth(0)).to_have_text("Available", timeout=WAIT_MS)
        expect(portal.cells(0).nth(1)).to_have_text("0 W")

        # Every change came over the socket, into the same document.
        assert page.evaluate("window.notReloaded") is True
        for kind in ("charging.status", "charging.session", "charging.meter"):
            assert kind in portal.kinds(), portal.kinds()
        # The neighbour's socket heard nothing of it, and their page did not change.
        assert not [k for k in neighbours.kinds() if k.startswith("charging.")], neighbours.kinds()
        expect(neighbours.connectors()).to_have_text(
            ["The charger has not reported its connectors yet."]
        )
        assert charger.charge_point_id not in other_page.content()
        assert other_errors == []
        other_context.close()
    finally:
        station.close()
    assert console_errors == []


def test_the_owner_sees_a_visitors_session_on_their_charger_live(browser, page, daphne_server):
    """A visitor's session is billed to the visitor's account, but it runs on the owner's charger:
    the owner's open page must follow it too, without the visitor's tag reaching the owner."""
    owner, account = _customer()
    _visitor, visitors_account = _customer()
    charger = ChargerFactory(account=account)
    visitors_tag = IdTagFactory(account=visitors_account)

    station = Station(daphne_server.ws_url, charger.charge_point_id)
    try:
        station.conf("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "W"})
        station.status(1, "Available")
        portal = Portal(page, daphne_server.url, owner)
        portal.open(f"{daphne_server.url}/charging/{charger.pk}/")
        expect(portal.cells(0).nth(0)).to_have_text("Available")
        expect(portal.charging_now()).to_contain_text("Not charging.")

        # No StatusNotification in between: only the session's and the meter's events can tell.
        started = station.conf(
            "StartTransaction",
            {"connectorId": 1, "idTag": visitors_tag.id_tag, "meterStart": 0, "timestamp": _now()},
        )
        assert started["idTagInfo"]["status"] == "Accepted"
        session = started["transactionId"]
        expect(portal.charging_now()).to_contain_text(
            f"Session {session} on connector 1 by a visitor", timeout=WAIT_MS
        )
        station.meter_values(session, "1250", "3700", "W")
        expect(portal.cells(0).nth(1)).to_have_text("3700 W", timeout=WAIT_MS)
        expect(portal.cells(0).nth(2)).to_have_text("1.250 kWh", timeout=WAIT_MS)
        station.conf(
            "StopTransaction", {"transactionId": session, "meterStop": 2000, "timestamp": _now()}
        )
        expect(portal.charging_now()).to_contain_text("Not charging.", timeout=WAIT_MS)
    finally:
        station.close()
    kinds = portal.kinds()
    assert kinds.count("charging.session") == 2 and "charging.meter" in kinds, kinds
    assert visitors_tag.id_tag not in json.dumps(portal.frames)
    assert visitors_tag.id_tag not in page.content()
