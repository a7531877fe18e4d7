"""Exit 0 if beat has run the sweep recently (docker-compose health check of the beat service)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

SWEEP_ENTRY = next(iter(settings.CELERY_BEAT_SCHEDULE))


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=int, default=60, help="seconds (default 60)")

    def handle(self, *args, **options):
        task = PeriodicTask.objects.filter(name=SWEEP_ENTRY).first()
        if task is None or task.last_run_at is None:
            raise CommandError("beat has not scheduled the sweep yet")
        age = timezone.now() - task.last_run_at
        if age > timedelta(seconds=options["max_age"]):
            raise CommandError(f"the sweep last ran {age} ago")
        self.stdout.write(f"ok: sweep last ran {age.total_seconds():.0f}s ago")
