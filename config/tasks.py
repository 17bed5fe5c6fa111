from celery import shared_task

from config import status


@shared_task
def beat_heartbeat() -> None:
    """Proves beat and a worker are alive: the status page shows when this last ran."""
    status.record_beat_heartbeat()
