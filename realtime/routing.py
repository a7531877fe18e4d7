from django.urls import path, re_path

from .consumers import MatchConsumer, TournamentConsumer
from .handshake import not_found

websocket_urlpatterns = [
    path("ws/tournament/<int:room_id>/", TournamentConsumer.as_asgi()),
    path("ws/match/<int:room_id>/", MatchConsumer.as_asgi()),
    re_path(r"", not_found),  # anything else: 404 at the handshake
]
