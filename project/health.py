"""Liveness and readiness, for load balancers and orchestrators.

`/healthz`: the process answers (liveness: restart it if not). `/readyz`: it can serve — the database
and Redis (and the Celery broker, where it is another server) answer now (readiness: send it no
traffic while not). Both are cheap and unauthenticated; they say which dependency failed, not why.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse

from realtime.store import scripts

logger = logging.getLogger(__name__)


def healthz(request):
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    scripts.client().ping()


def _broker() -> None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def readyz(request):
    checks = {"database": _database, "redis": _redis}
    if settings.CELERY_BROKER_URL != settings.REDIS_URL:
        checks["broker"] = _broker
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except (DatabaseError, redis.RedisError, OSError) as error:
            logger.warning("not ready: %s unavailable (%s)", name, error)
            results[name] = "unavailable"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503)
