"""Trusted proxies: X-Forwarded-For decides the client address only when TRUSTED_PROXY_COUNT says
a proxy in front writes it. Tested on a real daphne started the way the Procfile starts it, for
the API throttle key and the login lockout key alike."""

import http.cookiejar
import json
import os
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection

from accounts.tests.factories import PASSWORD, UserFactory
from tests.servers import ROOT, Daphne, database_url

LOGIN_RATE = 4  # the API login throttle, lowered so a test needs few requests
FAILURE_LIMIT = 2


@contextmanager
def _daphne(trusted_proxy_count: int):
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "TRUSTED_PROXY_COUNT": str(trusted_proxy_count),
        "THROTTLE_LOGIN": f"{LOGIN_RATE}/min",
        "LOGIN_FAILURE_LIMIT": str(FAILURE_LIMIT),
    }
    with Daphne(env) as server:
        yield server


def _post(url: str, fields: dict, forwarded_for: str, *, as_json: bool) -> int:
    body = json.dumps(fields).encode() if as_json else urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(  # noqa: S310 - the test's own http:// server
        url,
        data=body,
        headers={
            "Content-Type": "application/json" if as_json else "application/x-www-form-urlencoded",
            "X-Forwarded-For": forwarded_for,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _api_logins(server, forwarded_for: list[str]) -> list[int]:
    # Right passwords: the throttle counts them, the lockout does not.
    fields = {"email": UserFactory().email, "password": PASSWORD}
    return [
        _post(f"{server.url}/api/v1/auth/token", fields, hop, as_json=True) for hop in forwarded_for
    ]


def _portal_login(server, email: str, password: str, forwarded_for: str) -> tuple[int, str]:
    """The portal's login form as a browser sends it: CSRF cookie and token, then the POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{server.url}/login/", timeout=10).read()
    token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    request = urllib.request.Request(  # noqa: S310 - the test's own http:// server
        f"{server.url}/login/",
        data=urllib.parse.urlencode(
            {"username": email, "password": password, "csrfmiddlewaretoken": token}
        ).encode(),
        headers={"X-Forwarded-For": forwarded_for},
    )
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.django_db(transaction=True)
def test_it_ignores_a_forged_forwarded_for_without_trusted_proxies():
    with _daphne(trusted_proxy_count=0) as server:
        forged = [f"203.0.113.{n}" for n in range(1, LOGIN_RATE + 2)]
        statuses = _api_logins(server, forged)
        user = UserFactory()
        first = _portal_login(server, user.email, "wrong", "198.51.100.77")
        locked = _portal_login(server, "someone-else@example.com", "wrong", "198.51.100.78")

    assert statuses[:LOGIN_RATE] == [201] * LOGIN_RATE
    assert statuses[LOGIN_RATE] == 429  # one client, however many addresses it claims
    assert first[0] == 200
    assert locked[0] == 429 and "Too many failed logins" in locked[1]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


@pytest.mark.django_db(transaction=True)
def test_it_keys_on_the_hop_the_trusted_proxy_appended():
    with _daphne(trusted_proxy_count=1) as server:
        # The client forges the left part; the proxy appends the address it saw.
        same_client = [f"10.9.9.{n}, 198.51.100.7" for n in range(1, LOGIN_RATE + 2)]
        same_client_statuses = _api_logins(server, same_client)
        other_clients = [f"198.51.100.{n}" for n in range(20, 20 + LOGIN_RATE + 1)]
        other_client_statuses = _api_logins(server, other_clients)
        user = UserFactory()
        _portal_login(server, user.email, "wrong", "10.0.0.1, 192.0.2.44")
        elsewhere = _portal_login(server, "other@example.com", "wrong", "10.0.0.1, 192.0.2.45")

    assert same_client_statuses[LOGIN_RATE] == 429
    assert 429 not in other_client_statuses
    assert AccessAttempt.objects.filter(username=user.email).get().ip_address == "192.0.2.44"
    assert elsewhere[0] == 200  # the shared forged left part did not join the two clients' counts


def _procfile_web_flags(trusted_proxy_count: str | None) -> list[str]:
    """The Procfile's web command as the shell expands it, with daphne replaced by echo."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    command = line.removeprefix("web:").strip().replace("daphne", "echo", 1)
    env = {"PATH": os.environ["PATH"]}
    if trusted_proxy_count is not None:
        env["TRUSTED_PROXY_COUNT"] = trusted_proxy_count
    out = subprocess.run(  # noqa: S603 - the repository's own Procfile
        ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, check=True
    )
    return shlex.split(out.stdout)


@pytest.mark.parametrize(("count", "expected"), [(None, False), ("0", False), ("1", True)])
def test_it_passes_daphne_proxy_headers_only_behind_trusted_proxies(count, expected):
    flags = _procfile_web_flags(count)

    assert ("--proxy-headers" in flags) is expected
    assert flags[-1] == "config.asgi:application"
