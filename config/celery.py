import os

from celery import Celery
from celery.signals import task_failure, task_success

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("homegrid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["config"])


@task_success.connect
def _task_succeeded(sender=None, **kwargs) -> None:
    from config.status import record_task_outcome

    record_task_outcome(task=sender.name)


@task_failure.connect
def _task_failed(sender=None, exception=None, **kwargs) -> None:
    from config.status import record_task_outcome

    record_task_outcome(task=sender.name, error=exception)
