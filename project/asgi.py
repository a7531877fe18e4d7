"""ASGI entry point: Django for HTTP, Channels for the WebSocket rooms."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from project.body_limit import ApiBodyLimit  # noqa: E402
from realtime.auth import WebsocketAuth  # noqa: E402
from realtime.handshake import OriginValidator  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ApiBodyLimit(django_asgi_app),
        "websocket": OriginValidator(WebsocketAuth(URLRouter(websocket_urlpatterns))),
    }
)
