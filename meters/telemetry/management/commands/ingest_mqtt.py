"""``python manage.py ingest_mqtt``: the ingest process (``meters.telemetry.ingest``), stopped
cleanly by SIGTERM or SIGINT."""

import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from meters.telemetry.ingest import Ingest

log = logging.getLogger("meters.telemetry.ingest")


class Command(BaseCommand):
    help = "Subscribe to the MQTT broker and store meter and battery telemetry in batches."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", default=settings.MQTT_CLIENT_ID)
        parser.add_argument("--shared-group", default=settings.MQTT_SHARED_GROUP)
        parser.add_argument("--batch-size", type=int, default=settings.TELEMETRY_BATCH_SIZE)
        parser.add_argument("--flush-ms", type=int, default=settings.TELEMETRY_BATCH_FLUSH_MS)

    def handle(self, *args, **options):
        ingest = Ingest(
            client_id=options["client_id"],
            shared_group=options["shared_group"],
            batch_size=options["batch_size"],
            flush_ms=options["flush_ms"],
        )

        def stop(signum, frame):
            log.info("ingest %s stopping (signal %s)", ingest.client_id, signum)
            ingest.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        ingest.run()
