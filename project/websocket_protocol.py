"""uvicorn's WebSocket protocol (the sans-I/O one it picks by itself), answering oversized handshakes.

websockets refuses a handshake whose request line or headers exceed 8 KiB and prepares the answer
(414 or 431), but uvicorn 0.54 never writes it: the client waits until it gives up. Here the answer
is written and the connection closed at once. `project/processes.py` runs uvicorn with this class.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        refused_before_the_app = self.conn.handshake_exc is not None and not self.handshake_initiated
        if refused_before_the_app and not self.transport.is_closing():
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
