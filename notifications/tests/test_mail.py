"""Who is mailed about what: the account's people who want the kind, staff for staff alerts —
a battery alert raised by monitoring reaches both."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import CustomerAccountFactory, UserFactory
from batteries import services as battery_services
from batteries.tests.factories import BatteryFactory, reading
from config.exceptions import ApplicationError, InvalidInput
from notifications import services
from notifications.models import Event
from notifications.selectors import mail_kinds_wanted

pytestmark = pytest.mark.django_db


def test_it_mails_a_battery_alert_to_the_customer_and_to_staff(
    staff, django_capture_on_commit_callbacks
):
    battery = BatteryFactory()
    customer = battery.account.users.get()
    at = timezone.now() - timedelta(seconds=5)
    with django_capture_on_commit_callbacks(execute=True):  # ingest runs the battery's rules
        battery_services.reading_record(
            battery=battery, data=reading(timestamp=at.isoformat(), soc_percent=5), source="api"
        )
        battery_services.monitoring_run()  # and a pass after it raises nothing twice

    event = Event.objects.get(kind="battery_alert")
    assert event.payload["battery"] == battery.identifier
    assert sorted(message.to[0] for message in mail.outbox) == sorted([customer.email, staff.email])
    assert battery.identifier in mail.outbox[0].body


def test_it_mails_each_person_alone_and_only_those_who_want_it(
    django_capture_on_commit_callbacks,
):
    keen, quiet = UserFactory(), UserFactory()
    account = CustomerAccountFactory(users=[keen, quiet])
    services.preferences_set(user=quiet, wanted=["bill_issued"])
    assert mail_kinds_wanted(user=quiet) == ["bill_issued"]

    with django_capture_on_commit_callbacks(execute=True):
        services.event_publish(
            "read_refused", account=account, payload={"message": "Lower than your last read."}
        )

    (message,) = mail.outbox
    assert message.to == [keen.email] and message.body == "Lower than your last read."
    assert Event.objects.get().mailed_to == [keen.email]


def test_it_refuses_an_unknown_kind_and_an_unknown_preference(customer):
    with pytest.raises(ApplicationError, match="kind"):
        services.event_publish("nonsense", payload={})
    with pytest.raises(InvalidInput, match="wanted"):
        services.preferences_set(user=customer, wanted=["nonsense"])
