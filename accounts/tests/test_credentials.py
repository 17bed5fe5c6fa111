"""Account takeover: an email change needs the current password and is told to the old address;
a password change or reset, by any door, revokes the user's API tokens and ends their other
sessions."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.tests.factories import PASSWORD, StaffFactory, UserFactory, api_key_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _logged_in(user: User) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _is_logged_in(client: Client) -> bool:
    return client.get(reverse("profile")).status_code == 200


# --- Email change -------------------------------------------------------------------------------


@pytest.mark.parametrize("current_password", [None, "", "not-my-password"])
def test_it_refuses_an_api_email_change_without_the_right_current_password(current_password):
    user = UserFactory(email="owner@example.com")
    body = {"email": "attacker@example.com"}
    if current_password is not None:
        body["current_password"] = current_password

    response = _token_client(api_key_for(user)).patch("/api/v1/me", body)

    assert response.status_code == 400
    assert "current_password" in response.data["fields"]
    assert response.data["detail"].startswith("current_password:")
    user.refresh_from_db()
    assert user.email == "owner@example.com"
    assert mail.outbox == []


def test_it_changes_the_email_over_the_api_with_the_current_password_and_tells_the_old_address(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(email="owner@example.com")
    client = _token_client(api_key_for(user))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            "/api/v1/me", {"email": "New@Example.com", "current_password": PASSWORD}
        )

    assert response.status_code == 200, response.data
    assert response.data["email"] == "new@example.com"
    assert [message.to for message in mail.outbox] == [["owner@example.com"]]
    assert "new@example.com" in mail.outbox[0].body


def test_it_lets_the_name_change_without_a_password_and_sends_no_mail():
    user = UserFactory(email="owner@example.com")

    response = _token_client(api_key_for(user)).patch(
        "/api/v1/me", {"full_name": "Ada King", "email": "OWNER@example.com"}
    )

    assert response.status_code == 200
    assert response.data["full_name"] == "Ada King"
    assert mail.outbox == []


def test_it_refuses_a_portal_email_change_without_the_current_password():
    user = UserFactory(email="owner@example.com")
    client = _logged_in(user)

    response = client.post(reverse("profile"), {"full_name": "X", "email": "attacker@example.com"})

    assert response.status_code == 200
    assert "current_password" in response.context["form"].errors
    user.refresh_from_db()
    assert user.email == "owner@example.com"


def test_it_changes_the_email_on_the_portal_with_the_current_password_and_tells_the_old_address(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(email="owner@example.com")
    client = _logged_in(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("profile"),
            {"full_name": "X", "email": "new@example.com", "current_password": PASSWORD},
        )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert [message.to for message in mail.outbox] == [["owner@example.com"]]


def test_it_tells_the_old_address_when_staff_change_a_users_email(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(email="owner@example.com")
    staff = _token_client(api_key_for(StaffFactory()))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.patch(f"/api/v1/users/{user.pk}", {"email": "moved@example.com"})

    assert response.status_code == 200
    assert [message.to for message in mail.outbox] == [["owner@example.com"]]


# --- Password change revokes tokens and other sessions ------------------------------------------


def _assert_tokens_dead(keys: list[str]) -> None:
    for key in keys:
        assert _token_client(key).get("/api/v1/me").status_code == 401


def test_it_revokes_every_token_and_other_sessions_on_a_portal_password_change():
    user = UserFactory()
    keys = [api_key_for(user, "a"), api_key_for(user, "b")]
    elsewhere = _logged_in(user)
    here = _logged_in(user)

    response = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    _assert_tokens_dead(keys)
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert _is_logged_in(here)
    assert not _is_logged_in(elsewhere)


def test_it_revokes_every_token_and_all_sessions_on_a_password_reset():
    user = UserFactory()
    keys = [api_key_for(user)]
    elsewhere = _logged_in(user)

    anonymous = Client()
    anonymous.post(reverse("password_reset"), {"email": user.email})
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = anonymous.get(link).url  # Django swaps the token for a session-held one
    response = anonymous.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")
    _assert_tokens_dead(keys)
    assert not _is_logged_in(elsewhere)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_it_revokes_every_token_when_staff_set_a_password_in_the_admin():
    user = UserFactory()
    keys = [api_key_for(user)]
    elsewhere = _logged_in(user)
    admin = Client()
    admin.force_login(StaffFactory())

    response = admin.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302, response.context["form"].errors
    _assert_tokens_dead(keys)
    assert not _is_logged_in(elsewhere)


def test_it_keeps_the_calling_token_and_revokes_the_others_on_an_api_password_change():
    user = UserFactory()
    other_keys = [api_key_for(user, "old phone"), api_key_for(user, "old laptop")]
    calling = _token_client(api_key_for(user, "this script"))
    elsewhere = _logged_in(user)

    response = calling.patch("/api/v1/me", {"password": NEW_PASSWORD, "current_password": PASSWORD})

    assert response.status_code == 200, response.data
    _assert_tokens_dead(other_keys)
    assert calling.get("/api/v1/me").status_code == 200
    assert not _is_logged_in(elsewhere)


def test_it_keeps_the_calling_session_on_an_api_password_change_by_session():
    user = UserFactory()
    keys = [api_key_for(user)]
    here = _logged_in(user)
    elsewhere = _logged_in(user)

    response = here.patch(
        "/api/v1/me",
        {"password": NEW_PASSWORD, "current_password": PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    _assert_tokens_dead(keys)
    assert _is_logged_in(here)
    assert not _is_logged_in(elsewhere)


def test_it_refuses_an_api_password_change_without_the_current_password():
    user = UserFactory()
    key = api_key_for(user)

    response = _token_client(key).patch("/api/v1/me", {"password": NEW_PASSWORD})

    assert response.status_code == 400
    assert "current_password" in response.data["fields"]
    assert _token_client(key).get("/api/v1/me").status_code == 200


def test_it_revokes_every_token_when_staff_set_a_password_over_the_api():
    user = UserFactory()
    keys = [api_key_for(user)]
    staff = _token_client(api_key_for(StaffFactory()))

    response = staff.patch(f"/api/v1/users/{user.pk}", {"password": NEW_PASSWORD})

    assert response.status_code == 200
    _assert_tokens_dead(keys)


def test_it_says_on_the_tokens_page_that_a_password_change_revokes_them():
    client = _logged_in(UserFactory())

    page = client.get(reverse("tokens")).content.decode()

    assert "password revokes every one of your tokens" in page
