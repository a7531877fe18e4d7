"""Who is watching, and whether they may: WebSocket authentication (the API token integrators use
over HTTP, a header, else the session cookie of a browser), and the access rule of a room, for
WebSockets and event streams alike.

One middleware in place of channels' AuthMiddlewareStack (cookie, session and auth middlewares) and a
token middleware inside it: each of those copies the scope and stays suspended in `await inner(...)`
for as long as the connection lives, about 4 KiB per socket between them (docs/benchmarks.md). This
one adds `user` to one copy. Consumers read nothing else the stack added (`cookies`, `session`).
"""

import asyncio
from importlib import import_module

from channels.auth import get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from rest_framework.authtoken.models import Token

from tournaments import selectors

from .store.keys import Room, RoomKind


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


async def handshake_user(scope):
    """`Authorization: Token <key>` authenticates as that token's user (a wrong token does not: the
    client is then who its session says). Browsers cannot set headers on a WebSocket handshake; their
    session cookie is checked as channels' AuthMiddleware checks it (backend, session hash)."""
    headers = scope.get("headers", [])
    kind, _, key = dict(headers).get(b"authorization", b"").decode("latin-1").partition(" ")
    if kind.lower() == "token" and key and (user := await _user_for_token(key.strip())) is not None:
        return user
    cookie = next((value for name, value in headers if name == b"cookie"), None)  # the first, as channels reads it
    session_key = parse_cookie(cookie.decode("latin1")).get(settings.SESSION_COOKIE_NAME) if cookie else None
    if session_key is None:
        return AnonymousUser()
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return await get_user({"session": session})


class WebsocketAuth:
    """ASGI middleware: `scope["user"]`, the handshake's user (or AnonymousUser)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        return await self.inner({**scope, "user": await handshake_user(scope)}, receive, send)


def may_watch(room: Room, user) -> bool:
    """Whether the room exists and `user` may watch it (sync: ORM). Private rooms of others are
    "not found" too: their ids leak nothing."""
    if room.kind is RoomKind.TOURNAMENT:
        return selectors.can_watch_tournament(room.id, user)
    return selectors.can_watch_match(room.id, user)


async def may_still_watch(room: Room, user, answers: dict) -> bool:
    """Access checked again after a `recheck` frame. The room's listeners share `answers`, one per
    user (anonymous spectators are one), so a room of thousands costs a few checks."""
    key = getattr(user, "pk", None)
    if key not in answers:
        answers[key] = asyncio.ensure_future(database_sync_to_async(may_watch)(room, user))
    return await asyncio.shield(answers[key])
