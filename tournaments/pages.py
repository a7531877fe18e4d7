"""Server-rendered pages: the tournament list and the live page (the script does the rest)."""

from django.http import Http404
from django.shortcuts import render

from . import selectors


def index(request):
    tournaments = selectors.visible_tournaments(request.user)[:50]
    return render(request, "tournaments/index.html", {"tournaments": tournaments})


def live(request, tournament_id: int):
    tournament = selectors.watchable_tournament(tournament_id, request.user)
    if tournament is None:
        raise Http404("No such tournament")
    return render(request, "tournaments/live.html", {"tournament": tournament})
