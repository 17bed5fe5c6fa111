import pytest
from django.urls import reverse

from accounts.models import ApiToken, CustomerAccount, User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "full_name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "password": "analytical-engine-1843",
    "address": "12 St James's Square\nLondon",
    "postcode": "sw1y4jh",
    "region": "london",
    "dwelling_type": "terraced",
}


def test_it_registers_a_customer_with_an_account_and_logs_them_in(client):
    response = client.post(reverse("register"), REGISTRATION, follow=True)

    assert response.status_code == 200
    user = User.objects.get(email="ada@example.com")
    account = user.customer_accounts.get()
    assert user.role == "customer"
    assert account.postcode == "SW1Y 4JH"
    assert account.area == "SW1Y"
    assert account.account_number.startswith("HG")
    assert response.context["user"] == user
    assert account.account_number in response.content.decode()


def test_it_refuses_a_duplicate_email_and_keeps_the_first_registration(client):
    client.post(reverse("register"), REGISTRATION)
    client.logout()

    response = client.post(reverse("register"), REGISTRATION | {"email": "ADA@example.com"})

    assert response.status_code == 200
    assert "already exists" in str(response.context["form"].errors["email"])
    assert User.objects.filter(email="ada@example.com").count() == 1
    assert CustomerAccount.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password", "password", "too common"),
        ("password", "short1", "too short"),
        ("postcode", "NOT A CODE", "valid UK postcode"),
        ("email", "not-an-email", "valid email"),
        ("region", "atlantis", "Select a valid choice"),
    ],
)
def test_it_refuses_bad_registrations_naming_the_field(client, field, value, message):
    response = client.post(reverse("register"), REGISTRATION | {field: value})

    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not User.objects.exists()
    assert not CustomerAccount.objects.exists()


def test_it_logs_in_and_out(client):
    user = UserFactory()

    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == user

    client.post(reverse("logout"))
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_it_refuses_a_wrong_password(client):
    user = UserFactory()

    response = client.post(reverse("login"), {"username": user.email, "password": "wrong"})

    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode()


def test_it_shows_a_new_token_once_and_revokes_it(client, customer):
    client.force_login(customer)

    response = client.post(reverse("tokens"), {"name": "Home Assistant"})
    key = response.context["new_key"]
    token = ApiToken.objects.get(user=customer)
    assert key and key in response.content.decode()
    assert token.digest == ApiToken.digest_of(key) and key not in token.digest

    listing = client.get(reverse("tokens")).content.decode()
    assert "Home Assistant" in listing and key not in listing

    client.post(reverse("token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_does_not_let_a_customer_revoke_someone_elses_token(client, customer):
    other = UserFactory()
    client.force_login(other)
    client.post(reverse("tokens"), {"name": "theirs"})
    token = ApiToken.objects.get(user=other)

    client.force_login(customer)
    response = client.post(reverse("token-revoke", args=[token.pk]), follow=True)

    token.refresh_from_db()
    assert token.revoked_at is None
    assert "No such token" in response.content.decode()


def test_it_shows_a_customer_their_account_on_the_home_page(client, customer):
    client.force_login(customer)
    account = customer.customer_accounts.get()

    page = client.get(reverse("home")).content.decode()

    assert account.account_number in page
    assert "Admin" not in page


def test_it_shows_staff_the_operations_links(client, staff):
    client.force_login(staff)

    page = client.get(reverse("home")).content.decode()

    assert reverse("admin:index") in page and reverse("status") in page


def test_it_sends_a_password_reset_link_by_email(client, mailoutbox):
    user = UserFactory()

    client.post(reverse("password_reset"), {"email": user.email})

    assert len(mailoutbox) == 1
    assert "/password/reset/" in mailoutbox[0].body


def test_it_changes_the_password_after_checking_the_old_one(client):
    user = UserFactory()
    client.force_login(user)

    client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-one-42",
            "new_password2": "a-new-long-one-42",
        },
    )

    user.refresh_from_db()
    assert user.check_password("a-new-long-one-42")
