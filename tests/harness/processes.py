"""Real server processes for tests: ASGI servers, Celery workers and beat, their output kept."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from project import processes
from project.localredis import free_port

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A child process whose output is kept (and shown when a test fails to start it).

    With `own_group` it leads a process group of its own and is signalled as a group, the way honcho
    signals what it started: what it spawned (uvicorn's worker processes) gets the signal too, and
    whatever of the group is still there once the process has ended is killed.
    """

    def __init__(
        self, args: list[str], env: dict[str, str], ready_line: str, timeout: float = 30, own_group: bool = False
    ) -> None:
        self.args = args
        self.output: list[str] = []
        self.own_group = own_group
        self._ready = threading.Event()
        self._output_changed = threading.Condition()
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            process_group=0 if own_group else None,
        )
        threading.Thread(target=self._read, args=(ready_line,), daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"{args[:3]} did not become ready:\n" + "".join(self.output[-50:]))

    def _read(self, ready_line: str) -> None:
        for line in self.process.stdout:
            with self._output_changed:
                self.output.append(line)
                self._output_changed.notify_all()
            if ready_line in line:
                self._ready.set()

    def count(self, *fragments: str) -> int:
        """How many output lines so far contain every fragment."""
        return sum(all(fragment in line for fragment in fragments) for line in list(self.output))

    def wait_for_output(self, *fragments: str, more_than: int = 0, timeout: float = 10) -> None:
        """Block until more than `more_than` output lines contain every fragment."""
        with self._output_changed:
            if not self._output_changed.wait_for(lambda: self.count(*fragments) > more_than, timeout):
                raise AssertionError(f"no output line with {fragments} within {timeout}s")

    def _signal(self, signum: int) -> None:
        if not self.own_group:
            self.process.send_signal(signum)
            return
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.own_group:
            self._signal(signal.SIGKILL)  # leftovers of the group: none once the process stopped its own


def child_env(database_path: str, **extra: str) -> dict[str, str]:
    """Environment of a server process that shares the tests' database and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": f"sqlite:///{database_path}",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_worker(env: dict[str, str], queue: str = "celery") -> Process:
    hostname = f"{queue}-{os.getpid()}-{time.monotonic_ns()}@%h"
    return Process(processes.celery_worker(hostname, queue=queue), env, ready_line=processes.WORKER_READY)


def start_beat(env: dict[str, str], tmp_dir: Path) -> Process:
    return Process(processes.celery_beat(str(tmp_dir / "beat.pid")), env, ready_line=processes.BEAT_READY)


class Workers:
    """The session's Celery worker, replaceable by tests that kill it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.current = start_worker(env)

    def kill(self) -> None:
        self.current.kill()

    def replace(self) -> Process:
        self.current.stop()
        self.current = start_worker(self.env)
        return self.current

    def stop(self) -> None:
        self.current.stop()


class AsgiServer:
    """uvicorn on a port of its own; with `workers` > 1, that many worker processes behind it, and it
    is ready once every worker has started. Stopping it stops them all (as honcho would)."""

    def __init__(
        self, env: dict[str, str], port: int | None = None, workers: int = 1, stock_websocket_protocol: bool = False
    ) -> None:
        """`stock_websocket_protocol`: uvicorn's own WebSocket protocol instead of ours, as any other
        ASGI server would serve the application (no raw frame writes: realtime.sinks.AsgiSink)."""
        self.port = port or free_port()
        command = processes.asgi_server("127.0.0.1", self.port, workers=workers)
        if stock_websocket_protocol:
            command[command.index("--ws") + 1] = "websockets-sansio"
        self.process = Process(
            command,
            env,
            ready_line=processes.ASGI_READY,
            own_group=workers > 1,
        )
        try:
            self.process.wait_for_output(processes.ASGI_WORKER_STARTED, more_than=workers - 1, timeout=30)
        except AssertionError:
            self.process.stop()
            raise RuntimeError("uvicorn's workers did not start:\n" + "".join(self.process.output[-50:])) from None

    @property
    def worker_pids(self) -> list[int]:
        """The pids of the processes that serve (uvicorn's own pid when it runs without workers)."""
        pattern = re.compile(re.escape(processes.ASGI_WORKER_STARTED) + r"(\d+)\]")
        return [int(found.group(1)) for line in list(self.process.output) if (found := pattern.search(line))]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        self.process.stop()
