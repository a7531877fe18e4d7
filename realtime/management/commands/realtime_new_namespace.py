"""Give this database a new realtime namespace: its Redis state starts afresh (the old one expires).

Run it after restoring a database backup (the backup carries the namespace of Redis state that is
newer than it, and ids made after the backup would meet that state), then restart every process:
each reads the namespace once. Live scores not yet in the database are lost — as they are by the
restore itself.
"""

import secrets

from django.core.management.base import BaseCommand

from realtime.models import Namespace


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        old = Namespace.current()
        Namespace.objects.filter(pk=1).update(token=secrets.token_hex(6))
        self.stdout.write(f"realtime namespace {old} -> {Namespace.current()}: restart every process now")
