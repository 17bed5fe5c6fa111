import pytest
from django.core.cache import cache

from accounts.models import ApiToken, CustomerAccount, User
from accounts.tests.factories import PASSWORD, CustomerAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role_fixture", ["customer", "staff", "analyst"])
def test_it_answers_me_for_each_role(api, request, role_fixture):
    user = request.getfixturevalue(role_fixture)

    body = api.as_user(user).get("/api/v1/me").json()

    assert body["email"] == user.email
    assert body["role"] == role_fixture
    assert len(body["accounts"]) == (1 if role_fixture == "customer" else 0)


def test_it_refuses_me_without_credentials(api):
    response = api.get("/api/v1/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_it_refuses_a_revoked_token(api, customer):
    client = api.as_user(customer)
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


def test_it_updates_me_and_needs_the_current_password_for_a_new_one(api, customer):
    client = api.as_user(customer)

    assert client.patch("/api/v1/me", {"full_name": "New Name"}).json()["full_name"] == "New Name"

    refused = client.patch("/api/v1/me", {"password": "brand-new-secret-99"})
    assert refused.status_code == 400
    assert refused.json()["fields"] == {
        "current_password": ["Give your current password to change your email address or password."]
    }
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)

    ok = client.patch(
        "/api/v1/me", {"password": "brand-new-secret-99", "current_password": PASSWORD}
    )
    assert ok.status_code == 200
    customer.refresh_from_db()
    assert customer.check_password("brand-new-secret-99")


def test_it_refuses_to_take_another_users_email(api, customer):
    other = UserFactory()

    response = api.as_user(customer).patch(
        "/api/v1/me", {"email": other.email.upper(), "current_password": PASSWORD}
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "A user with this email address already exists.",
        "fields": {"email": ["A user with this email address already exists."]},
    }


def test_it_issues_a_token_for_email_and_password(api):
    user = UserFactory()

    response = api.post(
        "/api/v1/auth/token", {"email": user.email, "password": PASSWORD, "name": "script"}
    )

    assert response.status_code == 201
    key = response.json()["key"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/me").json()["email"] == user.email


def test_it_refuses_a_token_for_a_wrong_password_and_locks_out_guessing(api, settings):
    user = UserFactory()
    cache.clear()
    limit = settings.AXES_FAILURE_LIMIT

    codes = [
        api.post("/api/v1/auth/token", {"email": user.email, "password": "guess"}).status_code
        for _ in range(limit + 1)
    ]

    assert codes[: limit - 1] == [401] * (limit - 1)
    assert set(codes[limit - 1 :]) == {429}
    assert not ApiToken.objects.exists()


def test_it_lists_creates_and_revokes_own_tokens(api, customer):
    client = api.as_user(customer)

    created = client.post("/api/v1/tokens", {"name": "meter gateway"})
    assert created.status_code == 201
    token_id = created.json()["id"]
    names = [token["name"] for token in client.get("/api/v1/tokens").json()["results"]]
    assert "meter gateway" in names

    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert ApiToken.objects.get(pk=token_id).revoked_at is not None


def test_it_hides_other_users_tokens(api, customer):
    other_token = ApiToken.objects.get(
        pk=api.as_user(UserFactory()).post("/api/v1/tokens", {"name": "x"}).json()["id"]
    )

    response = api.as_user(customer).delete(f"/api/v1/tokens/{other_token.pk}")

    assert response.status_code == 404
    other_token.refresh_from_db()
    assert other_token.revoked_at is None


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/accounts"])
def test_staff_only_endpoints_refuse_customers_analysts_and_anonymous(api, customer, analyst, path):
    assert api.get(path).status_code == 401
    assert api.as_user(customer).get(path).status_code == 403
    assert api.as_user(analyst).get(path).json() == {"detail": "Staff only."}


def test_staff_create_an_account_with_a_normalised_postcode(api, staff):
    owner = UserFactory()

    response = api.as_user(staff).post(
        "/api/v1/accounts",
        {
            "owner_name": "Grace Hopper",
            "address": "1 Navy Yard",
            "postcode": "ec1a1bb",
            "region": "london",
            "dwelling_type": "flat",
            "users": [owner.pk],
        },
    )

    assert response.status_code == 201, response.json()
    account = CustomerAccount.objects.get(pk=response.json()["id"])
    assert (account.postcode, account.area) == ("EC1A 1BB", "EC1A")
    assert list(account.users.all()) == [owner]


def test_it_names_the_field_and_rule_of_a_bad_account(api, staff):
    account = CustomerAccountFactory()

    response = api.as_user(staff).patch(f"/api/v1/accounts/{account.pk}", {"postcode": "XYZ"})

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "postcode: Enter a valid UK postcode, such as SW1A 1AA or N1 9GU."
    )
    account.refresh_from_db()
    assert account.postcode == "N1 9GU"


def test_staff_create_users_with_roles_and_refuse_duplicates(api, staff):
    client = api.as_user(staff)
    body = {"email": "new.analyst@example.com", "role": "analyst", "password": "long-enough-pw-7"}

    assert client.post("/api/v1/users", body).status_code == 201
    assert User.objects.get(email="new.analyst@example.com").is_analyst

    duplicate = client.post("/api/v1/users", body)
    assert duplicate.status_code == 409
    assert User.objects.filter(email="new.analyst@example.com").count() == 1


def test_staff_filter_users_by_role(api, staff, analyst, customer):
    emails = [
        u["email"] for u in api.as_user(staff).get("/api/v1/users?role=analyst").json()["results"]
    ]

    assert emails == [analyst.email]


@pytest.mark.parametrize("path", ["/api/v1/users/{user}", "/api/v1/accounts/{account}"])
def test_staff_cannot_delete_users_or_accounts_that_records_refer_to(api, staff, customer, path):
    account = customer.customer_accounts.get()

    response = api.as_user(staff).delete(path.format(user=customer.pk, account=account.pk))

    assert response.status_code == 405
    assert User.objects.filter(pk=customer.pk).exists()
    assert CustomerAccount.objects.filter(pk=account.pk).exists()
