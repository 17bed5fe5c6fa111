"""Fixtures every app's tests share. Tests run against the real PostgreSQL, Redis and Mosquitto."""

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
