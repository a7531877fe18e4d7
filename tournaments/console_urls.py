"""The console: organizers and referees run their tournaments from a phone (docs/console.md)."""

from django.urls import path

from . import console

urlpatterns = [
    path("", console.index, name="console"),
    path("tournaments/<int:tournament_id>/", console.tournament, name="console-tournament"),
    path("matches/<int:match_id>/", console.match, name="console-match"),
]
