"""WebSocket authentication: the same API token integrators use over HTTP, sent as a header."""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from rest_framework.authtoken.models import Token


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


class TokenAuthMiddleware(BaseMiddleware):
    """`Authorization: Token <key>` on the handshake authenticates as that token's user.

    Browsers cannot set headers on a WebSocket handshake; they use the session cookie instead
    (AuthMiddlewareStack, inside this middleware). A wrong token leaves the user anonymous.
    """

    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        kind, _, key = header.partition(" ")
        if kind.lower() == "token" and key:
            user = await _user_for_token(key.strip())
            if user is not None:
                scope = {**scope, "user": user}
        return await super().__call__(scope, receive, send)


def AuthStack(inner):  # noqa: N802 - mirrors channels' AuthMiddlewareStack
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
