from django.urls import path

from .consumers import MatchConsumer, TournamentConsumer

websocket_urlpatterns = [
    path("ws/tournament/<int:room_id>/", TournamentConsumer.as_asgi()),
    path("ws/match/<int:room_id>/", MatchConsumer.as_asgi()),
]
