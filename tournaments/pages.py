"""Server-rendered pages: the tournament list, the live page, and the embeds (the script does the rest)."""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt

from . import selectors

THEMES = ("dark", "light")


def index(request):
    tournaments = selectors.visible_tournaments(request.user)[:50]
    return render(request, "tournaments/index.html", {"tournaments": tournaments})


def live(request, tournament_id: int):
    tournament = selectors.watchable_tournament(tournament_id, request.user)
    if tournament is None:
        raise Http404("No such tournament")
    return render(request, "tournaments/live.html", {"tournament": tournament})


def embeddable(view):
    """Framed by this site and the EMBED_ALLOWED_ORIGINS only (CSP frame-ancestors, which browsers
    check against every ancestor; X-Frame-Options cannot name other sites, so it is left off). The
    setting is read per request, as django-csp's middleware reads `_csp_replace` from the response."""

    @wraps(view)
    def framed(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response._csp_replace = {"frame-ancestors": ["'self'", *settings.EMBED_ALLOWED_ORIGINS]}
        return response

    return xframe_options_exempt(framed)


def _theme(request) -> str:
    theme = request.GET.get("theme", "dark")
    return theme if theme in THEMES else "dark"


@embeddable
def embed_tournament(request, tournament_id: int):
    """The live bracket alone, for an iframe: `?theme=light` or dark (the default)."""
    tournament = selectors.watchable_tournament(tournament_id, request.user)
    if tournament is None:
        raise Http404("No such tournament")
    return render(request, "tournaments/embed.html", {"tournament": tournament, "theme": _theme(request)})


@embeddable
def embed_match(request, match_id: int):
    """One match's card, live, for an iframe (a stream overlay)."""
    match = selectors.watchable_match(match_id, request.user)
    if match is None:
        raise Http404("No such match")
    return render(
        request, "tournaments/embed.html", {"tournament": match.tournament, "match": match, "theme": _theme(request)}
    )
