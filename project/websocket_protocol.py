"""uvicorn's WebSocket protocol (the sans-I/O one it picks by itself), with two ends tied off.

- Oversized handshakes: websockets refuses a handshake whose request line or a header line exceeds
  8 KiB (or that has over 128 headers) and prepares the answer (414 or 431), but uvicorn 0.54 never
  writes it: the client waits until it gives up. Here the answer is written and the connection
  closed at once.
- Clients that stopped reading: when the application is done with a connection (it closed it, or
  dropped a client it could not write to), uvicorn closes the transport, and asyncio keeps a socket
  open for as long as data is still waiting to be written to it — forever, for a client that never
  reads. Here such a connection is aborted once it has not drained within REALTIME_SEND_TIMEOUT_S.

And one addition: the realtime fan-out writes frames it framed once for all sockets straight to each
socket (`realtime.sinks.WRITE_FRAME_EXTENSION` in the scope): no per-socket task, queue or encoding.

`project/processes.py` runs uvicorn with this class.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from realtime.sinks import WRITE_FRAME_EXTENSION

logger = logging.getLogger(__name__)


class WebSocketProtocol(WebSocketsSansIOProtocol):
    stall_timer: asyncio.TimerHandle | None = None  # armed while the client's socket buffer is full

    def handle_connect(self, event) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:
            self.scope["extensions"][WRITE_FRAME_EXTENSION] = self.write_frame

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
