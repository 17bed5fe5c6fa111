import pytest
from django.urls import reverse
from django.utils import timezone

from meters.models import MeterKind, Reading
from meters.telemetry import services
from meters.telemetry.models import Alert, DeadLetter, Device
from meters.telemetry.services import Message
from meters.tests.factories import MeterFactory

from .factories import DeviceFactory, LiveMeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_it_lists_devices_dead_letters_and_alerts_for_staff(admin_client):
    DeviceFactory(topic="house-1")
    services.messages_store(
        messages=[Message(topic="tele/house-1/SENSOR", payload=b"{", received_at=timezone.now())]
    )
    services.supervision_run()
    for model in ("device", "deadletter", "alert"):
        response = admin_client.get(reverse(f"admin:telemetry_{model}_changelist"))
        assert response.status_code == 200, model
    assert b"house-1" in admin_client.get(reverse("admin:telemetry_device_changelist")).content
    assert DeadLetter.objects.count() == 1 and Alert.objects.exists()


def test_it_refuses_to_attach_a_device_to_an_interval_meter_in_the_admin(admin_client):
    device = DeviceFactory(meter=None)
    interval = MeterFactory(kind=MeterKind.INTERVAL)
    url = reverse("admin:telemetry_device_change", args=[device.pk])
    response = admin_client.post(
        url,
        {
            "topic": device.topic,
            "meter": interval.pk,
            "mapping_overrides": "{}",
            "timezone": "",
            "tele_period_seconds": 10,
            "transitions-TOTAL_FORMS": 0,
            "transitions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert b"only live meters take telemetry" in response.content
    device.refresh_from_db()
    assert device.meter is None


def test_it_refuses_malformed_mapping_overrides_in_the_admin(admin_client):
    device = DeviceFactory()
    response = admin_client.post(
        reverse("admin:telemetry_device_change", args=[device.pk]),
        {
            "topic": device.topic,
            "meter": device.meter_id,
            "mapping_overrides": '{"SML.x": {"quantity": "volts"}}',
            "timezone": "",
            "tele_period_seconds": 10,
            "transitions-TOTAL_FORMS": 0,
            "transitions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert b"needs a quantity" in response.content


def test_it_stores_an_unassigned_devices_messages_once_staff_attach_it_and_retry(admin_client):
    now = timezone.now()
    payload = b'{"SML":{"Total_in":42}}'
    services.messages_store(
        messages=[Message(topic="tele/newcomer/SENSOR", payload=payload, received_at=now)]
    )
    device = Device.objects.get(topic="newcomer")
    services.device_attach(device=device, meter=LiveMeterFactory())
    response = admin_client.post(
        reverse("admin:telemetry_device_changelist"),
        {"action": "retry_dead_letters", "_selected_action": [device.pk]},
        follow=True,
    )
    assert b"1 stored" in response.content
    assert Reading.objects.get().import_kwh == 42
    assert not DeadLetter.objects.exists()
