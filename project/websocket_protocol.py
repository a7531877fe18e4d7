"""uvicorn's WebSocket protocol (the sans-I/O one it picks by itself), with two ends tied off.

- Oversized handshakes: websockets refuses a handshake whose request line or a header line exceeds
  8 KiB (or that has over 128 headers) and prepares the answer (414 or 431), but uvicorn 0.54 never
  writes it: the client waits until it gives up. Here the answer is written and the connection
  closed at once.
- Clients that stopped reading: when the application is done with a connection (it closed it, or
  dropped a client it could not write to), uvicorn closes the transport, and asyncio keeps a socket
  open for as long as data is still waiting to be written to it — forever, for a client that never
  reads. Here such a connection is aborted once it has not drained within REALTIME_SEND_TIMEOUT_S.

`project/processes.py` runs uvicorn with this class.
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class WebSocketProtocol(WebSocketsSansIOProtocol):
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
