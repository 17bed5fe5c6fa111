"""Fixtures every app's tests share. Tests run against the real PostgreSQL, Redis and Mosquitto."""

import os

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import (
    AnalystFactory,
    CustomerAccountFactory,
    StaffFactory,
    UserFactory,
    api_key_for,
)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters and live state must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A new channel layer object for every test. Each async test has its own event loop, and
    channels_redis keeps asyncio locks that bind to the loop they were first contended in: a
    test where two receivers (two consumers, or a consumer and the test itself) shared the
    layer left it failing the next test with "bound to a different event loop"."""
    from channels.layers import channel_layers

    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture
def daphne_server(transactional_db):
    """A real daphne (``.url``, ``.ws_url``) on the test database, sharing the tests' Redis
    channel layer and cache: what this process pushes reaches its sockets."""
    from django.conf import settings
    from django.db import connection

    from tests.servers import Daphne, database_url

    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
    }
    with Daphne(env) as server:
        yield server


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def analyst(db):
    return AnalystFactory()


@pytest.fixture
def customer(db):
    """A customer login with one account of their own (``customer.customer_accounts.get()``)."""
    user = UserFactory()
    CustomerAccountFactory(users=[user])
    return user


@pytest.fixture
def api():
    """An API client; ``api.as_user(user)`` authenticates it with a real token of that user."""
    client = APIClient()

    def as_user(user):
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
        return client

    client.as_user = as_user
    return client


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded browser; quiet on a machine with no internet.

    Playwright's sync API keeps an event loop running in the main thread from the first browser
    test to the end of the session, so Django would refuse every later blocking ORM call there
    (tests' own queries, database teardown) as "async-unsafe". They are ordinary blocking calls and
    safe, so the guard is lifted for the rest of this test process.
    """
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    return browser_type_launch_args | {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def console_errors(page):
    """Collects the page's console errors, so a browser test can assert there are none."""
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def pytest_collection_modifyitems(config, items):
    """Browser tests run last, whichever folders are named: Playwright's sync API keeps an event
    loop running in the main thread once a browser started, and every async test after it would
    fail with "Runner.run() cannot be called from a running event loop"."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
