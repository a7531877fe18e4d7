"""uvicorn's WebSocket protocol (the sans-I/O one it picks by itself), with two ends tied off.

- Oversized handshakes: websockets refuses a handshake whose request line or a header line exceeds
  8 KiB (or that has over 128 headers) and prepares the answer (414 or 431), but uvicorn 0.54 never
  writes it: the client waits until it gives up. Here the answer is written and the connection
  closed at once.
- Clients that stopped reading: when the application is done with a connection (it closed it, or
  dropped a client it could not write to), uvicorn closes the transport, and asyncio keeps a socket
  open for as long as data is still waiting to be written to it — forever, for a client that never
  reads. Here such a connection is aborted once it has not drained within REALTIME_SEND_TIMEOUT_S.

And two additions, in the scope's extensions: the realtime fan-out writes frames it framed once for
all sockets straight to each socket (`realtime.sinks.WRITE_FRAME_EXTENSION`): no per-socket task, queue
or encoding; and it hands a consumer its rare messages (access re-checks, drops) through the
connection's own receive queue (`realtime.sinks.NOTIFY_EXTENSION`), so a consumer needs no task or
queue of its own either. Memory per connection: what uvicorn keeps of the handshake (the request and
the prepared response, several KiB of header objects) is let go once the handshake is answered.

`project/processes.py` runs uvicorn with this class.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from realtime.sinks import NOTIFY_EXTENSION, WRITE_FRAME_EXTENSION

logger = logging.getLogger(__name__)


class ReceiveQueue:
    """The connection's incoming messages, as uvicorn uses its `queue` (`put_nowait`, `get`, `empty`):
    an asyncio.Queue allocates four deques up front, 3 KiB per connection; this is a list, and a future
    only while the application waits. One reader at a time: the application's `receive`."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list = []
        self.waiter: asyncio.Future | None = None

    def put_nowait(self, item) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self) -> bool:
        return not self.items

    async def get(self):
        while not self.items:
            if self.waiter is not None:
                raise RuntimeError("receive() is already being awaited")
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:  # cancelled or not, a message put meanwhile stays in `items`
                self.waiter = None
        return self.items.pop(0)


class Flag:
    """uvicorn's `writable` (`set`, `clear`, `wait`) as an asyncio.Event behaves, without the deque of
    waiters the Event allocates up front: one future, shared by whoever waits while it is clear."""

    __slots__ = ("value", "waiter")

    def __init__(self, value: bool = False) -> None:
        self.value = value
        self.waiter: asyncio.Future | None = None

    def is_set(self) -> bool:
        return self.value

    def set(self) -> None:
        self.value = True
        if self.waiter is not None:
            if not self.waiter.done():
                self.waiter.set_result(None)
            self.waiter = None

    def clear(self) -> None:
        self.value = False

    async def wait(self) -> bool:
        if not self.value:
            if self.waiter is None:
                self.waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(self.waiter)  # one waiter cancelled (a send timing out) leaves the others waiting
        return True


class WebSocketProtocol(WebSocketsSansIOProtocol):
    stall_timer: asyncio.TimerHandle | None = None  # armed while the client's socket buffer is full

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()
        self.writable = Flag(True)

    def handle_connect(self, event) -> None:
        super().handle_connect(event)
        # uvicorn keeps the handshake request (and websockets' parser, its frame) for as long as the
        # connection lives but never reads it again: what the application needs of it is in the scope.
        self.request = None
        event.headers.clear()
        if self.response.status_code == 101:
            extensions = self.scope["extensions"]
            extensions[WRITE_FRAME_EXTENSION] = self.write_frame
            extensions[NOTIFY_EXTENSION] = self.queue.put_nowait

    async def send(self, message) -> None:
        await super().send(message)
        if self.handshake_complete:
            # The prepared handshake response is only used to accept: sent now, or never.
            self.response = None

    def write_frame(self, wire: bytes) -> bool:
        """Write one framed server frame now; False when the connection is closed or closing."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return False
        self.transport.write(wire)
        return True

    # A client whose socket buffer stays full for REALTIME_SEND_TIMEOUT_S stopped reading: it is
    # aborted, so what it holds is bounded by that time times its room's frame rate, and the
    # application hears it as a disconnect. Frames are written without waiting for it meanwhile.
    def pause_writing(self) -> None:
        super().pause_writing()
        if self.stall_timer is None:
            self.stall_timer = self.loop.call_later(settings.REALTIME_SEND_TIMEOUT_S, self._abort_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.stall_timer is not None:
            self.stall_timer.cancel()
            self.stall_timer = None

    def _abort_stalled(self) -> None:
        self.stall_timer = None
        if not self.transport.is_closing() or self.transport.get_write_buffer_size() > 0:
            logger.warning("aborting a WebSocket client that stopped reading (%s)", self.scope.get("path"))
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        refused_before_the_app = self.conn.handshake_exc is not None and not self.handshake_initiated
        if refused_before_the_app and not self.transport.is_closing():
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()

    async def run_asgi(self) -> None:
        await super().run_asgi()
        asyncio.get_running_loop().call_later(settings.REALTIME_SEND_TIMEOUT_S, self._abort_if_undrained)

    def _abort_if_undrained(self) -> None:
        if self.transport.get_write_buffer_size() > 0:
            self.transport.abort()
