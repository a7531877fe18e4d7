"""The command lines of the project's server processes: the one place they are written.

    python -m project.processes web|worker|beat

builds the command line of one process from the environment and replaces itself with it
(`os.execvp`), so the process honcho or Docker started *is* uvicorn or Celery and receives their
signals directly. The Procfile, the Dockerfile and docker-compose.yml call this; the tests and
benchmarks call the functions below, so every one of them runs the same command lines.

Environment (unset or empty means the default):

    WEB_HOST             127.0.0.1   address uvicorn binds (the Docker image sets 0.0.0.0)
    WEB_PORT             8000        port uvicorn listens on
    WORKER_CONCURRENCY   8           threads of one Celery worker
    FORWARDED_ALLOW_IPS  127.0.0.1,::1
                                     addresses whose X-Forwarded-For/-Proto headers uvicorn
                                     believes; behind a proxy, name the proxy here

uvicorn runs without per-message deflate: frames are ~150-byte JSON, and compression costs a zlib
context per socket (~50 KiB) and CPU per frame per socket (measured: docs/benchmarks.md).
Celery workers run without gossip and mingle: nothing here uses worker events or revocations, and
without them a worker starts at once and sends Redis less chatter.
Beat runs without a pidfile: honcho and Docker supervise it, and a pidfile left by a crash could
name a live process (a reused pid) and stop beat from starting again.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping

DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8000
DEFAULT_WORKER_CONCURRENCY = 8
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"  # uvicorn's own default
DEFAULT_WORKER_HOSTNAME = "celery@%h"  # Celery's own default node name

# Tests and benchmarks run workers with fewer threads: they share a small machine with everything else.
HARNESS_WORKER_CONCURRENCY = 4


def asgi_server(host: str, port: int, forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "project.asgi:application", "--host", host, "--port", str(port),
        "--lifespan", "off", "--ws-max-size", "65536", "--log-level", "info", "--ws-per-message-deflate", "false",
        "--proxy-headers", "--forwarded-allow-ips", forwarded_allow_ips, "--no-server-header",
        "--ws", "project.websocket_protocol:WebSocketProtocol",
    ]  # fmt: skip


def celery_worker(hostname: str, concurrency: int = HARNESS_WORKER_CONCURRENCY) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "project", "worker", "--pool", "threads",
        "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", hostname,
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def celery_beat(pidfile: str = "") -> list[str]:
    """Beat; an empty `pidfile` means none."""
    return [
        sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel", "INFO",
        "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", f"--pidfile={pidfile}",
    ]  # fmt: skip


# Lines the processes above print once they serve.
ASGI_READY = "Uvicorn running"
WORKER_READY = " ready."
BEAT_READY = "beat: Starting"


def _setting(environ: Mapping[str, str], name: str, default: str) -> str:
    return environ.get(name) or default


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _setting(environ, name, str(default))
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SystemExit(f"{name} must be a positive integer, not {value!r}")
    return number


def command(name: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The command line of process `name` (web, worker or beat), configured by `environ`."""
    if name == "web":
        return asgi_server(
            _setting(environ, "WEB_HOST", DEFAULT_WEB_HOST),
            _positive_int(environ, "WEB_PORT", DEFAULT_WEB_PORT),
            _setting(environ, "FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS),
        )
    if name == "worker":
        return celery_worker(
            DEFAULT_WORKER_HOSTNAME, _positive_int(environ, "WORKER_CONCURRENCY", DEFAULT_WORKER_CONCURRENCY)
        )
    if name == "beat":
        return celery_beat()
    raise ValueError(f"unknown process {name!r}")


PROCESSES = ("web", "worker", "beat")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["-h"], ["--help"]):
        print(__doc__)
        return
    if len(args) != 1 or args[0] not in PROCESSES:
        raise SystemExit(f"usage: python -m project.processes {'|'.join(PROCESSES)}  (--help: the settings)")
    line = command(args[0])
    print(f"processes: exec {shlex.join(line)}", file=sys.stderr, flush=True)
    os.execvp(line[0], line)


if __name__ == "__main__":
    main()
