"""Command lines of the project's server processes, for the tests and benchmarks that start them.

uvicorn runs without per-message deflate: frames are ~150-byte JSON, and compression costs a zlib
context per socket (~50 KiB) and CPU per frame per socket (measured: docs/benchmarks.md).

The Procfile and docker-compose.yml say the same in their own syntax; keep them in step.
"""

from __future__ import annotations

import sys


def asgi_server(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "project.asgi:application", "--host", host, "--port", str(port),
        "--lifespan", "off", "--ws-max-size", "65536", "--log-level", "info", "--ws-per-message-deflate", "false",
    ]  # fmt: skip


def celery_worker(hostname: str, concurrency: int = 4) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "project", "worker", "--pool", "threads",
        "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", hostname,
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def celery_beat(pidfile: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel", "INFO",
        "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile", pidfile,
    ]  # fmt: skip


# Lines the processes above print once they serve.
ASGI_READY = "Uvicorn running"
WORKER_READY = " ready."
BEAT_READY = "beat: Starting"
