"""The baseline: bare Channels as a tutorial writes it. One consumer per socket joined to a group,
and a `group_send` of every update. Same uvicorn, same Redis, same run as the product.

    DJANGO_SETTINGS_MODULE=bench.bare_settings uvicorn bench.bare_asgi:application
"""

import django

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BareConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room = self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.room, self.channel_name)

    async def bench_frame(self, message):
        await self.send(text_data=message["text"])


application = URLRouter([path("bare/<str:room>/", BareConsumer.as_asgi())])
