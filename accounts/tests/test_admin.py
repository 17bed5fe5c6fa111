"""Customer accounts are kept: the admin offers no deletion and says what to do instead."""

import pytest

from accounts.models import CustomerAccount
from accounts.tests.factories import CustomerAccountFactory

pytestmark = pytest.mark.django_db


def test_it_offers_no_deletion_of_customer_accounts(client, staff):
    account = CustomerAccountFactory()
    client.force_login(staff)

    listing = client.get("/admin/accounts/customeraccount/").content.decode()
    delete = client.post(
        f"/admin/accounts/customeraccount/{account.pk}/delete/", {"post": "yes"}, follow=True
    )
    bulk = client.post(
        "/admin/accounts/customeraccount/",
        {"action": "delete_selected", "_selected_action": [account.pk], "post": "yes"},
    )

    assert "delete_selected" not in listing and "remove their users" in listing
    assert "remove their users" in delete.content.decode()
    assert bulk.status_code in (200, 302)
    assert CustomerAccount.objects.filter(pk=account.pk).exists()
