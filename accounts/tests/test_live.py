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
