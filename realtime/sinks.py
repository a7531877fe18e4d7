"""How the fan-out writes a frame to one socket (realtime/fanout.py).

A frame is framed for the wire once per process (`OutgoingFrame.wire`) and written to every socket
that takes it. Under our uvicorn protocol (project/websocket_protocol.py) a connection's scope offers
`WRITE_FRAME_EXTENSION`: a function that writes those bytes to the socket at once, with no per-socket
task, queue or serialization. Under any other ASGI server, `AsgiSink` sends the frame's text through
the connection's ASGI `send`, one frame at a time, from a queue of bounded length.

A sink answers False when its client cannot take the frame (closed, or not reading for
REALTIME_SEND_TIMEOUT_S): the fan-out then drops that client without waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

# The scope extension our uvicorn protocol offers: write_frame(wire: bytes) -> bool.
WRITE_FRAME_EXTENSION = "realtime.write_frame"
# And notify(message: dict) -> None: the message is handed to the application by the connection's own
# `receive`, in order with the client's (realtime/consumers.py: the fan-out's re-checks and drops).
NOTIFY_EXTENSION = "realtime.notify"
# Frames an AsgiSink holds for a client before it counts as not reading.
ASGI_SINK_MAX_QUEUED = 256


def websocket_text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked text frame (RFC 6455 §5.2), as a server sends it."""
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 1 << 16:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload


class OutgoingFrame:
    """A frame's JSON text, and its wire bytes encoded once however many sockets it goes to (a plain
    attribute, not a property: it is read once per socket)."""

    __slots__ = ("text", "wire", "resume_from")

    def __init__(self, text: str) -> None:
        self.text = text
        self.wire = websocket_text_frame(text.encode())
        # The history entry a client that got this frame resumes from (inclusive): everything
        # published to its room before that entry was sent or superseded. Server-sent events' ids.
        self.resume_from = ""


class Sink(Protocol):
    def deliver(self, frame: OutgoingFrame) -> bool:
        """Write (or queue) the frame without waiting; False if the client cannot take it."""


class RawSink:
    """Writes pre-framed bytes straight to the socket (our uvicorn protocol)."""

    __slots__ = ("write_frame",)

    def __init__(self, write_frame: Callable[[bytes], bool]) -> None:
        self.write_frame = write_frame

    def deliver(self, frame: OutgoingFrame) -> bool:
        return self.write_frame(frame.wire)


class AsgiSink:
    """Sends through the ASGI `send` of the connection, in order, from a bounded queue (any server)."""

    def __init__(self, send: Callable[[dict], Awaitable[None]]) -> None:
        self.send = send
        self.queue: deque[str] = deque()
        self.writer: asyncio.Task | None = None
        self.failed = False

    def deliver(self, frame: OutgoingFrame) -> bool:
        if self.failed or len(self.queue) >= ASGI_SINK_MAX_QUEUED:
            return False
        self.queue.append(frame.text)
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write())
        return True

    async def _write(self) -> None:
        try:
            while self.queue:
                async with asyncio.timeout(settings.REALTIME_SEND_TIMEOUT_S):
                    await self.send({"type": "websocket.send", "text": self.queue[0]})
                self.queue.popleft()
        except Exception:  # a timeout, or a client that went away: nothing more goes to it
            self.failed = True
            self.queue.clear()
        finally:
            self.writer = None


def sink_for(scope: dict, send: Callable[[dict], Awaitable[None]]) -> Sink:
    """The fastest sink the server serving this connection offers."""
    write_frame = scope.get("extensions", {}).get(WRITE_FRAME_EXTENSION)
    return RawSink(write_frame) if write_frame is not None else AsgiSink(send)
