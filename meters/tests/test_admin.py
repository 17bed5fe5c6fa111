from datetime import UTC, datetime

import pytest
from django.urls import reverse

from meters import services
from meters.models import Archive, Meter, Reading, Reception, ReceptionChange

from .factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff, settings, tmp_path):
    settings.ARCHIVE_DIR = tmp_path
    client.force_login(staff)
    return client


def test_it_finds_meters_by_postcode_and_account(admin_client):
    meter = MeterFactory(postcode="SW1A 1AA")
    other = MeterFactory(postcode="M1 1AE")
    url = reverse("admin:meters_meter_changelist")
    page = admin_client.get(url, {"q": "SW1A"}).content.decode()
    assert meter.meter_id in page and other.meter_id not in page
    page = admin_client.get(url, {"q": other.account.account_number}).content.decode()
    assert other.meter_id in page and meter.meter_id not in page
    assert admin_client.get(url, {"kind__exact": "live"}).status_code == 200


def test_it_shows_readings_read_only_and_archives_their_days(admin_client):
    meter = MeterFactory()
    services.reading_record(
        meter=meter, at=datetime(2026, 1, 5, 12, tzinfo=UTC), import_kwh=1, source="api"
    )
    change = admin_client.get(reverse("admin:meters_meter_change", args=[meter.pk]))
    url = reverse("admin:meters_meter_readings", args=[meter.pk])
    assert url in change.content.decode()
    page = admin_client.get(url)
    assert page.status_code == 200 and b'name="import_kwh"' not in page.content
    assert "2026-01-05 12:00:00" in page.content.decode()  # UTC, linked to its page:
    assert "/readingcorrection/reading/" in page.content.decode()
    assert "2026-01-05T12:00:00Z/" in page.content.decode()
    admin_client.post(url, {"day": "2026-01-05"})
    assert Archive.objects.get().period_start.isoformat() == "2026-01-05"
    assert Reading.objects.count() == 1


def test_it_pauses_and_resumes_reception_from_the_admin(admin_client, staff):
    url = reverse("admin:meters_reception_changelist")
    admin_client.get(url)
    pk = Reception.SINGLETON_PK
    admin_client.post(url, {"action": "pause", "_selected_action": [pk]})
    assert Reception.objects.get().paused
    admin_client.post(url, {"action": "resume", "_selected_action": [pk]})
    assert not Reception.objects.get().paused
    assert ReceptionChange.objects.filter(changed_by=staff).count() == 2


def test_it_revokes_meter_keys_from_the_admin(admin_client):
    issued = services.meter_key_create(meter=MeterFactory(), name="reader")
    url = reverse("admin:meters_meterkey_changelist")
    admin_client.post(url, {"action": "revoke", "_selected_action": [issued.meter_key.pk]})
    issued.meter_key.refresh_from_db()
    assert issued.meter_key.revoked_at is not None


def test_it_offers_no_deletion_of_meters_and_says_to_deactivate(client, staff):
    meter = MeterFactory()
    client.force_login(staff)

    listing = client.get("/admin/meters/meter/").content.decode()
    delete = client.post(f"/admin/meters/meter/{meter.pk}/delete/", {"post": "yes"}, follow=True)
    bulk = client.post(
        "/admin/meters/meter/",
        {"action": "delete_selected", "_selected_action": [meter.pk], "post": "yes"},
    )

    assert "delete_selected" not in listing and "set a meter" in listing
    assert "set a meter" in delete.content.decode()
    assert bulk.status_code in (200, 302)
    assert Meter.objects.filter(pk=meter.pk).exists()
