"""Test helpers: real processes (ASGI server, Celery worker) and real WebSocket spectators."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import websockets

from project import processes
from project.localredis import free_port
from realtime import events

ROOT = Path(__file__).resolve().parent.parent


class Process:
    """A child process whose output is kept (and shown when a test fails to start it)."""

    def __init__(self, args: list[str], env: dict[str, str], ready_line: str, timeout: float = 30) -> None:
        self.args = args
        self.output: list[str] = []
        self._ready = threading.Event()
        self._output_changed = threading.Condition()
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
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

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def child_env(database_path: str, **extra: str) -> dict[str, str]:
    """Environment of a server process that shares the tests' database and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": f"sqlite:///{database_path}",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_worker(env: dict[str, str]) -> Process:
    hostname = f"worker-{os.getpid()}-{time.monotonic_ns()}@%h"
    return Process(processes.celery_worker(hostname), env, ready_line=processes.WORKER_READY)


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
    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.process = Process(processes.asgi_server("127.0.0.1", self.port), env, ready_line=processes.ASGI_READY)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        self.process.stop()


class Spectator:
    """A real WebSocket client that records every frame it receives, validated against the catalogue."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.frames: list[dict] = []
        self.received_at: list[float] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, server: AsgiServer, path: str, headers: dict | None = None) -> Spectator:
        socket = await websockets.connect(
            server.ws_url(path), origin=server.http_url, additional_headers=headers, open_timeout=10
        )
        return cls(socket)

    async def _read(self) -> None:
        try:
            async for text in self.socket:
                parsed = events.validate(text)
                async with self._changed:
                    self.frames.append(parsed)
                    self.received_at.append(time.monotonic())
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        """The first recorded frame matching `predicate`, waiting for it if needed."""
        async with self._changed:
            found = await asyncio.wait_for(
                self._changed.wait_for(lambda: any(map(predicate, self.frames)) or self.closed.is_set()), timeout
            )
            del found
            for frame in self.frames:
                if predicate(frame):
                    return frame
        raise AssertionError(f"connection closed before the frame arrived; got {self.types()}")

    async def send(self, message: dict | str | bytes) -> None:
        await self.socket.send(message if isinstance(message, (str, bytes)) else json.dumps(message))

    def of_type(self, frame_type: str) -> list[dict]:
        return [frame for frame in self.frames if frame["type"] == frame_type]

    def types(self) -> list[str]:
        return [frame["type"] for frame in self.frames]

    def match_frames(self, match_id: int) -> list[dict]:
        return [f for f in self.frames if f["data"].get("match_id") == match_id and f["type"] != "snapshot"]

    @property
    def close_code(self) -> int | None:
        return self.socket.close_code

    async def close(self) -> None:
        await self.socket.close()
        await self._reader


def is_type(frame_type: str, **data) -> Callable[[dict], bool]:
    def predicate(frame: dict) -> bool:
        return frame["type"] == frame_type and all(frame["data"].get(k) == v for k, v in data.items())

    return predicate


def seen_sequences(spectator: Spectator) -> tuple[str, dict[str, int]]:
    """What a client remembers: the epoch and the last sequence per stream (snapshot, then events)."""
    snapshot = spectator.of_type("snapshot")[-1]["data"]
    epoch = snapshot["tournament"]["epoch"]
    sequences = {f"t:{snapshot['tournament']['id']}": snapshot["tournament"]["sequence"]}
    sequences.update({f"m:{m['id']}": m["sequence"] for m in snapshot.get("matches", [snapshot.get("match")])})
    for frame in spectator.frames:
        data = frame["data"]
        if "sequence" in data and frame["type"] != "snapshot":
            stream = f"m:{data['match_id']}" if "match_id" in data else f"t:{data['tournament_id']}"
            sequences[stream] = max(sequences.get(stream, 0), data["sequence"])
    return epoch, sequences


async def resume(asgi_server: AsgiServer, path: str, spectator: Spectator) -> Spectator:
    """Reconnect as a client that saw what `spectator` saw, asking to resume."""
    epoch, sequences = seen_sequences(spectator)
    query = quote(json.dumps({"epoch": epoch, "sequences": sequences}))
    return await Spectator.connect(asgi_server, f"{path}?resume={query}")


def first_live_match(tournament):
    """The first live match of a tournament's bracket (ORM: call it in a sync context)."""
    return tournament.matches.filter(state="live").order_by("round", "position").first()


async def visit(server: AsgiServer, path: str) -> Spectator:
    """Connect, take the snapshot, leave: a client that will come back later."""
    spectator = await Spectator.connect(server, path)
    await spectator.wait_for(is_type("snapshot"))
    await spectator.close()
    return spectator
