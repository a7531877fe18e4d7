"""Real WebSocket spectators for tests: every frame recorded and validated against the catalogue."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from urllib.parse import quote

import websockets

from realtime import events

from .processes import AsgiServer


class Spectator:
    """A real WebSocket client that records every frame it receives, validated against the catalogue.

    A `batch` frame is recorded as the frames it carries, in order, as if each had arrived alone;
    `batches` holds each batch's arrival time and the match ids of its entries, and `received` every
    frame exactly as it arrived, batches whole (what a client applies: ReferenceClient.receive)."""

    def __init__(self, socket, server: AsgiServer | None = None) -> None:
        self.socket = socket
        self.server = server  # whose output explains a close the test did not expect
        self.frames: list[dict] = []
        self.received: list[dict] = []
        self.received_at: list[float] = []
        self.batches: list[tuple[float, list[int]]] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, server: AsgiServer, path: str, headers: dict | None = None) -> Spectator:
        socket = await websockets.connect(
            server.ws_url(path), origin=server.http_url, additional_headers=headers, open_timeout=10
        )
        return cls(socket, server)

    async def _read(self) -> None:
        try:
            async for text in self.socket:
                parsed = events.validate(text)
                now = time.monotonic()
                carried = parsed["data"]["frames"] if parsed["type"] == events.Control.BATCH else [parsed]
                async with self._changed:
                    if parsed["type"] == events.Control.BATCH:
                        self.batches.append((now, [frame["data"]["match_id"] for frame in carried]))
                    self.received.append(parsed)
                    self.frames.extend(carried)
                    self.received_at.extend([now] * len(carried))
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        """The first recorded frame matching `predicate`, waiting for it if needed."""
        await self.wait_until(lambda: any(map(predicate, self.frames)), "the frame arrived", timeout)
        return next(frame for frame in self.frames if predicate(frame))

    async def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
        """Wait until `condition()` holds, checked again whenever a frame arrives; `what` names it
        if the connection closes first."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: condition() or self.closed.is_set()), timeout)
            if not condition():
                raise AssertionError(self._closed_before(what))

    def _closed_before(self, what: str) -> str:
        explained = f"connection closed (code {self.close_code}) before {what}; got {self.types()}"
        if self.server is None:
            return explained
        # e.g. why the server refused it (its consumers log every close they decide on)
        return explained + "\nthe server's last output:\n" + "".join(self.server.process.output[-20:])

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


async def visit(server: AsgiServer, path: str) -> Spectator:
    """Connect, take the snapshot, leave: a client that will come back later."""
    spectator = await Spectator.connect(server, path)
    await spectator.wait_for(is_type("snapshot"))
    await spectator.close()
    return spectator
