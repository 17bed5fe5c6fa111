"""The batch store on the embedded defaults (SQLite, no services): the portable paths of
``messages_store`` — devices and meters read as rows without PostgreSQL's arrays, a device
attached by its meter number, last-seen and device state written through the ORM — store what
the PostgreSQL paths store. Run in a real process on a freshly migrated SQLite database."""

import json
import subprocess
import sys

from tests.servers import ROOT, embedded_env

SCRIPT = """
import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import CustomerAccount
from meters.models import Meter, Reading
from meters.telemetry import services
from meters.telemetry.models import Device

place = dict(address="1 Test Road", postcode="N1 9GU", area="N1", region="london",
             dwelling_type="terraced")
account = CustomerAccount.objects.create(account_number="EMB000000001", owner_name="E", **place)
meters = [
    Meter.objects.create(meter_id=f"EMB-{n}", account=account, kind="live",
                         timezone="Europe/London", **place)
    for n in (1, 2)
]
Device.objects.create(topic="known", meter=meters[0])
now = timezone.now().replace(microsecond=0)
root = settings.TELEMETRY_TOPIC_ROOT
local = timezone.get_default_timezone()

def sensor(topic, seconds_ago, total, **extra):
    time = (now - timedelta(seconds=seconds_ago)).astimezone(local).strftime("%Y-%m-%dT%H:%M:%S")
    body = {"Time": time, "MT681": {"Total_in": total, "Power_cur": 400, **extra}}
    return services.Message(f"{root}/{topic}/SENSOR", json.dumps(body).encode(), now)

report = services.messages_store_isolating(messages=[
    sensor("known", 30, 10.5),
    sensor("known", 20, 10.25),
    sensor("known", 10, 11.0),
    services.Message(f"{root}/known/STATE", b"{}", now),
    services.Message(f"{root}/known/LWT", b"Online", now),
    sensor("new", 10, 7.0, Meter_number="EMB-2"),
    sensor("stranger", 10, 1.0),
])
known = Device.objects.get(topic="known")
print(json.dumps({
    "outcomes": report.outcomes,
    "codes": dict(report.codes),
    "readings": {m.meter_id: m.readings.count() for m in meters},
    "resets": Reading.objects.filter(register_reset=True).count(),
    "new_device_meter": Device.objects.get(topic="new").meter.meter_id,
    "stranger_unassigned": Device.objects.get(topic="stranger").meter_id is None,
    "known_online": known.online,
    "known_seen_now": known.last_seen == now and known.last_sensor_at == now,
    "known_number_and_payload": [known.last_meter_number, '"Total_in": 11.0' in known.last_payload],
    "meter_seen_at_last_reading": Meter.objects.get(meter_id="EMB-1").last_seen
    == now - timedelta(seconds=10),
}))
"""


def test_it_stores_a_batch_on_the_embedded_database(tmp_path):
    result = subprocess.run(  # noqa: S603 - this checkout's manage.py
        [sys.executable, "manage.py", "shell", "-c", SCRIPT],
        cwd=ROOT,
        env=embedded_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "outcomes": ["stored"] * 6 + ["rejected"],
        "codes": {"unassigned_device": 1},
        "readings": {"EMB-1": 3, "EMB-2": 1},
        "resets": 1,
        "new_device_meter": "EMB-2",
        "stranger_unassigned": True,
        "known_online": True,
        "known_seen_now": True,
        "known_number_and_payload": ["", True],
        "meter_seen_at_last_reading": True,
    }
