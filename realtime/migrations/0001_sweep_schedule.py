"""Schedule the sweep of overdue score batches (SPEC §3.7) in django-celery-beat.

Visible and editable in the admin under "Periodic tasks". The interval comes from
REALTIME_SWEEP_INTERVAL_S when this migration runs.
"""

from django.conf import settings
from django.db import migrations

TASK_NAME = "realtime: sweep overdue score batches"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=max(1, round(settings.REALTIME_SWEEP_INTERVAL_S)), period="seconds"
    )
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "realtime.tasks.sweep_overdue_batches",
            "interval": interval,
            "enabled": True,
            "description": "Flushes pending score batches whose flush task never ran (worker killed, task lost).",
            # A sweep older than its own interval is pointless: the next one is already due.
            "expire_seconds": max(1, round(settings.REALTIME_SWEEP_INTERVAL_S)),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
