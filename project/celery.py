"""The Celery application. Configuration lives in Django settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _count_task_outcomes(sender, **kwargs) -> None:
    from project.metrics import count_celery_tasks  # needs Django's settings: after configuration

    count_celery_tasks(sender)
