"""The command lines of the project's server processes: the one place they are written.

    python -m project.processes web|worker|webhooks|beat

builds the command line of one process from the environment and replaces itself with it
(`os.execvpe`), so the process honcho or Docker started *is* uvicorn or Celery and receives their
signals directly. The Procfile, the Dockerfile and docker-compose.yml call this; the tests and
benchmarks call the functions below, so every one of them runs the same command lines.

Environment (unset or empty means the default):

    WEB_HOST             127.0.0.1   address uvicorn binds (the Docker image sets 0.0.0.0)
    WEB_PORT             8000        port uvicorn listens on
    WEB_CONCURRENCY      1           ASGI worker processes behind the one listening socket
                                     (uvicorn --workers); about one per core: each is a
                                     single-threaded event loop. `make run` and
                                     docker-compose.yml set 2
    WORKER_CONCURRENCY   8           threads of one Celery worker
    WEBHOOKS_CONCURRENCY 8           threads of the webhooks worker (deliveries: its own queue)
    FORWARDED_ALLOW_IPS  127.0.0.1,::1
                                     addresses whose X-Forwarded-For/-Proto headers uvicorn
                                     believes; behind a proxy, name the proxy here

With WEB_CONCURRENCY above 1, uvicorn's parent process binds the socket, starts that many worker
processes (each imports the application), restarts one that dies, and on SIGINT or SIGTERM stops
them all (SIGTERM to each, then waits for them) before it exits; `exec` still makes that parent the
process honcho or Docker signals. This module imports the application once before, so a broken
setting fails the start instead of having the workers restarted forever. Every per-process limit
(REALTIME_MAX_CONNECTIONS, ...) then holds per worker process. uvicorn itself would also read
WEB_CONCURRENCY (and fail on an empty one): the command line always says `--workers`, so only this
module decides, and the tests' and benchmarks' servers stay single-process whatever the environment
holds. docs/operations.md: how many to run, and what holds across processes.

uvicorn runs without per-message deflate: frames are ~150-byte JSON, and compression costs a zlib
context per socket (~50 KiB) and CPU per frame per socket (measured: docs/benchmarks.md).
Celery workers run without gossip and mingle: nothing here uses worker events or revocations, and
without them a worker starts at once and sends Redis less chatter.
Beat runs without a pidfile: honcho and Docker supervise it, and a pidfile left by a crash could
name a live process (a reused pid) and stop beat from starting again.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
from collections.abc import Mapping

DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8000
DEFAULT_WEB_CONCURRENCY = 1  # for `python -m project.processes web` with nothing set; make run and compose set 2
DEFAULT_WORKER_CONCURRENCY = 8
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"  # uvicorn's own default
DEFAULT_WORKER_HOSTNAME = "celery@%h"  # Celery's own default node name
DEFAULT_WEBHOOKS_HOSTNAME = "webhooks@%h"

# Tests and benchmarks run workers with fewer threads: they share a small machine with everything else.
HARNESS_WORKER_CONCURRENCY = 4

ASGI_APPLICATION = "project.asgi:application"


def asgi_server(
    host: str, port: int, forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS, workers: int = 1
) -> list[str]:
    """uvicorn on `host`:`port`; `workers` processes share its socket (1: uvicorn without a supervisor)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    return [
        sys.executable, "-m", "uvicorn", ASGI_APPLICATION, "--host", host, "--port", str(port),
        "--workers", str(workers),  # always given: uvicorn would otherwise read WEB_CONCURRENCY itself
        "--lifespan", "off", "--ws-max-size", "65536", "--log-level", "info", "--ws-per-message-deflate", "false",
        "--proxy-headers", "--forwarded-allow-ips", forwarded_allow_ips, "--no-server-header",
        "--ws", "project.websocket_protocol:WebSocketProtocol",
    ]  # fmt: skip


def celery_worker(hostname: str, concurrency: int = HARNESS_WORKER_CONCURRENCY, queue: str = "celery") -> list[str]:
    """A worker of one queue: "celery" (flushes, saves, the sweeps) or "webhooks" (deliveries)."""
    return [
        sys.executable, "-m", "celery", "-A", "project", "worker", "--pool", "threads",
        "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", hostname,
        "--without-gossip", "--without-mingle", "--queues", queue,
    ]  # fmt: skip


def celery_beat(pidfile: str = "") -> list[str]:
    """Beat; an empty `pidfile` means none."""
    return [
        sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel", "INFO",
        "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", f"--pidfile={pidfile}",
    ]  # fmt: skip


# Lines the processes above print once they serve. With several workers uvicorn's parent prints
# ASGI_READY once its socket is bound, and each worker ASGI_WORKER_STARTED (with its pid) once it has
# imported the application, just before it starts accepting.
ASGI_READY = "Uvicorn running"
ASGI_WORKER_STARTED = "Started server process ["
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
            _positive_int(environ, "WEB_CONCURRENCY", DEFAULT_WEB_CONCURRENCY),
        )
    if name == "worker":
        return celery_worker(
            DEFAULT_WORKER_HOSTNAME, _positive_int(environ, "WORKER_CONCURRENCY", DEFAULT_WORKER_CONCURRENCY)
        )
    if name == "webhooks":
        return celery_worker(
            DEFAULT_WEBHOOKS_HOSTNAME,
            _positive_int(environ, "WEBHOOKS_CONCURRENCY", DEFAULT_WORKER_CONCURRENCY),
            queue="webhooks",
        )
    if name == "beat":
        return celery_beat()
    raise ValueError(f"unknown process {name!r}")


PROCESSES = ("web", "worker", "webhooks", "beat")


def _import_application() -> None:
    """Import the ASGI application here, before uvicorn's supervisor does it in each worker.

    With one process uvicorn imports it before serving and exits if that fails. Its supervisor
    (--workers > 1) does not: each worker imports it, and a worker that dies doing so is started
    again, every half second, for as long as the supervisor runs (uvicorn 0.54 gives up only on
    its own startup-failure exit code, not on an exception). So a broken setting (say production
    without DJANGO_SECRET_KEY) fails the start here, with its traceback, as it does with one process.
    """
    importlib.import_module(ASGI_APPLICATION.partition(":")[0])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["-h"], ["--help"]):
        print(__doc__)
        return
    if len(args) != 1 or args[0] not in PROCESSES:
        raise SystemExit(f"usage: python -m project.processes {'|'.join(PROCESSES)}  (--help: the settings)")
    environ = dict(os.environ)  # as given: importing the application sets DJANGO_SETTINGS_MODULE
    line = command(args[0], environ)
    if args[0] == "web" and _positive_int(environ, "WEB_CONCURRENCY", DEFAULT_WEB_CONCURRENCY) > 1:
        _import_application()
    print(f"processes: exec {shlex.join(line)}", file=sys.stderr, flush=True)
    os.execvpe(line[0], line, environ)


if __name__ == "__main__":
    main()
