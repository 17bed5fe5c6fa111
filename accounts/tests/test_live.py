import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import live
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(user):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    @database_sync_to_async
    def session_for(user):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        return session.session_key

    key = await session_for(user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", f"sessionid={key}".encode())],
    )
    connected, _ = await communicator.connect()
    return connected, communicator


async def test_it_delivers_an_accounts_events_to_its_customer_over_redis(customer):
    account_id = await database_sync_to_async(lambda: customer.customer_accounts.get().pk)()
    connected, communicator = await _connect(customer)
    assert connected
    assert (await communicator.receive_json_from())["kind"] == "hello"

    await database_sync_to_async(live.push)(
        account_id=account_id, kind="reading", data={"power_w": 420}
    )

    assert await communicator.receive_json_from(timeout=3) == {
        "kind": "reading",
        "data": {"power_w": 420},
    }
    await communicator.disconnect()


async def test_it_does_not_deliver_another_accounts_events(customer):
    from accounts.tests.factories import CustomerAccountFactory

    other = await database_sync_to_async(CustomerAccountFactory)()
    _, communicator = await _connect(customer)
    await communicator.receive_json_from()

    await database_sync_to_async(live.push)(account_id=other.pk, kind="reading", data={})

    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_it_refuses_anonymous_sockets():
    communicator = WebsocketCommunicator(
        application, "/ws/live/", headers=[(b"origin", b"http://127.0.0.1:8000")]
    )

    connected, code = await communicator.connect()

    assert not connected
    assert code == 4401


async def test_a_push_to_a_group_without_an_open_socket_sends_nothing():
    """A channel in the group but no socket's watch mark: pushes skip it (an ingest of thousands
    of meters must not send to Redis for customers who have no portal open)."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.account_group(1), channel)

    await database_sync_to_async(live.push)(account_id=1, kind="reading", data={"n": 1})
    await live.watch([live.account_group(1)])
    await database_sync_to_async(live.push)(account_id=1, kind="reading", data={"n": 2})

    assert (await layer.receive(channel))["data"] == {"n": 2}
    await layer.group_discard(live.account_group(1), channel)


async def test_an_open_socket_keeps_its_groups_watched_until_it_closes(customer, settings):
    settings.LIVE_WATCH_SECONDS = 1.5  # renewed every 0.5 s
    account_id = await database_sync_to_async(lambda: customer.customer_accounts.get().pk)()
    group = live.account_group(account_id)
    _, communicator = await _connect(customer)
    await communicator.receive_json_from()
    assert await database_sync_to_async(live.watched)([group]) == {group}

    await asyncio.sleep(3)  # twice the mark's life: only renewal keeps it
    assert await database_sync_to_async(live.watched)([group]) == {group}

    await communicator.disconnect()
    await asyncio.sleep(2)
    assert await database_sync_to_async(live.watched)([group]) == set()


async def test_with_audience_keeps_accounts_with_an_open_socket_or_all_while_staff_watch():
    await live.watch([live.account_group(7)])
    assert await database_sync_to_async(live.with_audience)([7, 8, None]) == {7}

    await live.watch([live.STAFF_GROUP])
    assert await database_sync_to_async(live.with_audience)([7, 8, None]) == {7, 8, None}


def test_pages_also_poll_where_other_processes_cannot_reach_their_socket(settings):
    import io

    from django.core.handlers.asgi import ASGIRequest
    from django.test import RequestFactory

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    assert live.socket_url(ASGIRequest(scope, io.BytesIO())) == "/ws/live/"
    assert live.socket_url(RequestFactory().get("/")) is None  # WSGI: no websockets
    assert live.reaches_every_process()  # the tests' Redis layer

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert not live.reaches_every_process()  # the demo: the ingest cannot reach the web process
