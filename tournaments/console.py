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


def match_title(match: Match, rounds: dict[str, int]) -> str:
    """Where the match is played, as players say it (console.js matchTitle says the same). `rounds`:
    each bracket's last round."""
    if match.bracket == Match.Bracket.THIRD_PLACE:
        return "Third place"
    if match.bracket == Match.Bracket.GROUP:
        return f"Group {chr(64 + match.group)} · round {match.round}"
    if match.bracket == Match.Bracket.GRAND_FINAL:
        return "Grand final reset" if match.reset_of_id else "Grand final"
    last = rounds.get(match.bracket, match.round)
    if match.bracket == Match.Bracket.LOWER or Match.Bracket.LOWER in rounds:
        side = "Lower" if match.bracket == Match.Bracket.LOWER else "Upper"
        return f"{side} final" if match.round == last else f"{side} round {match.round}"
    return round_title(match.round, last)


def last_rounds(matches) -> dict[str, int]:
    """Each bracket's last round."""
    rounds: dict[str, int] = {}
    for match in matches:
        rounds[match.bracket] = max(rounds.get(match.bracket, 0), match.round)
    return rounds


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
    rounds = last_rounds(matches)
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
    rounds = last_rounds(selectors.tournament_matches(match.tournament_id))
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
