"""What is refused at the WebSocket handshake, before any consumer runs (answered with an HTTP status).

- A foreign Origin: 403. The Origin must be this site itself (the scheme, host and port the request
  was made to, the host one of ALLOWED_HOSTS) or one of WEBSOCKET_ALLOWED_ORIGINS, compared by
  scheme, host and port — as Django's CSRF check compares Origin, not by host name alone. Browsers
  always send Origin on a WebSocket handshake; a handshake without one is refused too.
- A path that is no room (`/ws/foo/`, `/ws/tournament/abc/`, an HTTP path): 404.
- Redis unavailable before the connection could be set up: 503 (realtime/consumers.py).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_parts(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin like "https://example.com:8443"; None if it is not one."""
    try:
        parts = urlsplit(origin)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname.lower(), port


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope: dict) -> bool:
    origin = _origin_parts(_header(scope, b"origin") or "")
    if origin is None:
        return False
    allowed = {_origin_parts(entry) for entry in settings.WEBSOCKET_ALLOWED_ORIGINS}
    if origin in allowed:
        return True
    host = _header(scope, b"host") or ""
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    own_scheme = "https" if scope.get("scheme") == "wss" else "http"
    return origin == _origin_parts(f"{own_scheme}://{host}")


class OriginValidator:
    """ASGI middleware: refuses (403) handshakes from origins that are not allowed."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


async def refuse(scope, receive, send, status: int, code: str, message: str) -> None:
    """Answer a handshake with an HTTP error (where the server can say so; else it answers 403)."""
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close"})


async def not_found(scope, receive, send) -> None:
    """The answer to a handshake on a path that is no room."""
    await refuse(scope, receive, send, 404, "not_found", "No WebSocket room at this path.")
