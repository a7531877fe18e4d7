"""The one row realtime keeps in the database: which database this is, as Redis knows it."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, models, transaction


class Namespace(models.Model):
    """A random token made the first time a database is used (again after it is flushed, or for a new
    one). Every Redis key and pub/sub channel of realtime carries it (realtime/store/keys.py), so Redis
    state left by another database — a reset one, another deployment pointed at the same Redis —
    is never read as this one's."""

    token = models.CharField(max_length=16, unique=True)

    def __str__(self) -> str:
        return self.token

    @classmethod
    def current(cls) -> str:
        row = cls.objects.filter(pk=1).first()
        if row is not None:
            return row.token
        try:
            with transaction.atomic():
                return cls.objects.create(pk=1, token=secrets.token_hex(6)).token
        except IntegrityError:  # another process made it first
            return cls.objects.get(pk=1).token
