"""The portal as a person uses it, in a real Chromium (Debian's, driven by Playwright)."""

import pytest

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_customer_registers_and_sees_their_account(page, live_server, console_errors):
    page.goto(f"{live_server.url}/register/")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password").fill("analytical-engine-1843")
    page.get_by_label("Supply address").fill("12 St James's Square\nLondon")
    page.get_by_label("Postcode").fill("sw1y 4jh")
    page.get_by_label("Region").select_option("london")
    page.get_by_label("Type of home").select_option("terraced")
    page.get_by_role("button", name="Create account").click()

    account = User.objects.get(email="ada@example.com").customer_accounts.get()
    assert page.get_by_role("status").filter(has_text=account.account_number).is_visible()
    assert page.get_by_text("SW1Y 4JH").is_visible()
    assert console_errors == []


def test_a_bad_postcode_is_named_next_to_its_field(page, live_server):
    page.goto(f"{live_server.url}/register/")
    page.get_by_label("Full name").fill("Bad Postcode")
    page.get_by_label("Email address").fill("bad@example.com")
    page.get_by_label("Password").fill("analytical-engine-1843")
    page.get_by_label("Supply address").fill("Somewhere")
    page.get_by_label("Postcode").fill("NOPE 123")
    page.get_by_role("button", name="Create account").click()

    assert page.get_by_text("Enter a valid UK postcode").is_visible()
    assert page.get_by_label("Postcode").get_attribute("aria-invalid") == "true"
    assert not User.objects.filter(email="bad@example.com").exists()


def test_a_customer_logs_in_creates_a_token_and_revokes_it(page, live_server, console_errors):
    user = UserFactory()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="API tokens").click()

    page.get_by_label("Token name").fill("Home Assistant")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-token-key").inner_text()
    assert len(key) >= 40
    assert user.api_tokens.get().digest == user.api_tokens.model.digest_of(key)

    page.get_by_role("button", name="Revoke Home Assistant").click()
    assert page.get_by_text("is revoked").is_visible()
    assert user.api_tokens.get().revoked_at is not None
    assert console_errors == []


def test_the_layout_fits_a_phone(page, live_server):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/login/")
    overflows = "document.documentElement.scrollWidth > window.innerWidth"

    assert page.evaluate(overflows) is False
    user = UserFactory()
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="API tokens").wait_for()
    assert page.evaluate(overflows) is False
