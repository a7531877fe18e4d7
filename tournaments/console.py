"""The console: the pages organizers and referees run a tournament with, on a phone (docs/console.md).

Thin views: they check who may see a page (selectors) and render it; every change is made by the
page's script through the HTTP API (docs/api.md) with the session cookie and the CSRF token, and
live scores come from the WebSocket rooms (docs/protocol.md).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from . import selectors
from .models import ODD_BEST_OF, Match, Tournament, TournamentRole

ORGANIZER = TournamentRole.Role.ORGANIZER


def round_title(round_number: int, rounds: int) -> str:
    """ "Final", "Semi-final", "Quarter-final" or "Round N" (console.js says the same)."""
    names = {rounds: "Final", rounds - 1: "Semi-final", rounds - 2: "Quarter-final"}
    return names.get(round_number, f"Round {round_number}") if round_number > 0 else ""


def match_title(match: Match, rounds: int) -> str:
    """The round's title, or "Third place" for the match of the semi-finals' losers."""
    return "Third place" if match.bracket == Match.Bracket.THIRD_PLACE else round_title(match.round, rounds)


@login_required
@ensure_csrf_cookie
def index(request):
    user = request.user
    return render(
        request,
        "console/index.html",
        {
            "tournaments": selectors.officiated_tournaments(user),
            "may_create": selectors.may_create_tournaments(user),
            "visibilities": Tournament.Visibility.choices,
            "best_of_choices": ODD_BEST_OF,
        },
    )


@login_required
@ensure_csrf_cookie
def tournament(request, tournament_id: int):
    found = selectors.officiated_tournament(tournament_id, request.user)
    if found is None:
        raise Http404("No such tournament")
    tournament, roles = found
    matches = selectors.console_matches(tournament_id)
    rounds = max((match.round for match in matches), default=0)
    return render(
        request,
        "console/tournament.html",
        {
            "tournament": tournament,
            "is_organizer": ORGANIZER in roles,
            "matches": [(match, match_title(match, rounds)) for match in matches],
            "participants": selectors.tournament_participants(tournament_id),
            "officials": selectors.tournament_officials(tournament_id),
        },
    )


@login_required
@ensure_csrf_cookie
def match(request, match_id: int):
    found = selectors.officiated_match(match_id, request.user)
    if found is None:
        raise Http404("No such match")
    match, roles = found
    rounds = selectors.round_count(match.tournament_id)
    return render(
        request,
        "console/match.html",
        {
            "match": match,
            "tournament": match.tournament,
            "round_title": match_title(match, rounds),
            "is_organizer": ORGANIZER in roles,
            "dispute": selectors.open_dispute_of(match_id),
        },
    )
