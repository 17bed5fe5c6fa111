"""Brute force: failed logins lock out a login name and a client address, on every door that takes
a password; staff unlock in the admin; reset mails are limited without telling which addresses
exist."""

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, StaffFactory, UserFactory, api_key_for

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def _low_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def _portal_login(email: str, password: str, address: str = "192.0.2.1", path: str = ""):
    client = Client(REMOTE_ADDR=address)
    return client.post(path or reverse("login"), {"username": email, "password": password})


def _api_login(email: str, password: str, address: str = "192.0.2.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token", {"email": email, "password": password}
    )


def test_it_locks_a_login_name_out_after_the_limit_even_from_other_addresses():
    user = UserFactory()
    for n in range(LIMIT - 1):
        assert _portal_login(user.email, "wrong", address=f"192.0.2.{n + 1}").status_code == 200
    assert _portal_login(user.email, "wrong", address="192.0.2.99").status_code == 429

    response = _portal_login(user.email.upper(), PASSWORD, address="198.51.100.9")

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def test_it_locks_a_client_address_out_after_the_limit_whatever_names_it_tries():
    user = UserFactory()
    for n in range(LIMIT):
        _portal_login(f"nobody{n}@example.com", "guess", address="203.0.113.5")

    assert _portal_login(user.email, PASSWORD, address="203.0.113.5").status_code == 429
    assert _portal_login(user.email, PASSWORD, address="203.0.113.6").status_code == 302


def test_it_forgets_failures_after_a_successful_login():
    user = UserFactory()
    for _ in range(LIMIT - 1):
        _portal_login(user.email, "wrong")
    assert _portal_login(user.email, PASSWORD).status_code == 302

    for _ in range(LIMIT - 1):
        _portal_login(user.email, "wrong")
    assert _portal_login(user.email, PASSWORD).status_code == 302


def test_it_locks_the_admin_login_out_too():
    staff = StaffFactory()
    admin_login = reverse("admin:login")
    for _ in range(LIMIT - 1):
        assert _portal_login(staff.email, "wrong", path=admin_login).status_code == 200
    _portal_login(staff.email, "wrong", path=admin_login)

    response = _portal_login(staff.email, PASSWORD, path=admin_login)

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_it_counts_api_token_logins_towards_the_same_lockout():
    user = UserFactory()
    for _ in range(LIMIT - 1):
        assert _api_login(user.email, "wrong").status_code == 401
    _api_login(user.email, "wrong")

    api = _api_login(user.email, PASSWORD)
    portal = _portal_login(user.email, PASSWORD, address="198.51.100.9")

    assert api.status_code == 429
    assert "Too many failed logins" in api.data["detail"]
    assert api.headers["Retry-After"] == "900"
    assert portal.status_code == 429
    assert not user.api_tokens.exists()


def test_it_counts_wrong_current_passwords_of_an_email_change_towards_the_lockout():
    user = UserFactory()
    thief = APIClient(REMOTE_ADDR="203.0.113.66")
    thief.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    for n in range(LIMIT):
        response = thief.patch(
            "/api/v1/me", {"email": "thief@example.com", "current_password": f"guess{n}"}
        )
        assert response.status_code == 400

    right_guess = thief.patch(
        "/api/v1/me", {"email": "thief@example.com", "current_password": PASSWORD}
    )

    assert right_guess.status_code == 400
    user.refresh_from_db()
    assert user.email != "thief@example.com"


def test_it_lets_staff_unlock_in_the_admin():
    user = UserFactory()
    for _ in range(LIMIT):
        _portal_login(user.email, "wrong")
    assert _portal_login(user.email, PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(StaffFactory())

    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert user.email in listing.content.decode()
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert _portal_login(user.email, PASSWORD).status_code == 302


def test_it_lets_in_process_logins_through_without_a_request(client):
    user = UserFactory()

    assert client.login(email=user.email, password=PASSWORD)


# --- Reset mails ---------------------------------------------------------------------------------


def _reset(email: str, address: str = "192.0.2.1"):
    return Client(REMOTE_ADDR=address).post(reverse("password_reset"), {"email": email})


@override_settings(PASSWORD_RESET_MAILS_PER_ADDRESS=3, PASSWORD_RESET_MAILS_PER_CLIENT=100)
def test_it_sends_at_most_the_limit_of_reset_mails_to_one_address():
    user = UserFactory()

    answers = [_reset(user.email, address=f"192.0.2.{n}") for n in range(1, 8)]

    assert len(mail.outbox) == 3
    assert {(a.status_code, a.url) for a in answers} == {(302, reverse("password_reset_done"))}


@override_settings(PASSWORD_RESET_MAILS_PER_ADDRESS=3, PASSWORD_RESET_MAILS_PER_CLIENT=4)
def test_it_sends_at_most_the_limit_of_reset_mails_from_one_client():
    users = [UserFactory() for _ in range(6)]

    for user in users:
        _reset(user.email, address="203.0.113.9")
    _reset(users[0].email, address="203.0.113.10")

    assert [message.to for message in mail.outbox] == [[u.email] for u in users[:4]] + [
        [users[0].email]
    ]


def test_it_answers_a_reset_the_same_whether_or_not_the_address_has_an_account():
    user = UserFactory()

    known = _reset(user.email)
    unknown = _reset("nobody-here@example.com")
    known_page = Client().get(known.url)
    unknown_page = Client().get(unknown.url)

    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert known_page.content == unknown_page.content
    assert len(mail.outbox) == 1
