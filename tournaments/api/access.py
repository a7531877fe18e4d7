"""Who may do what through the API: lookups that hide private tournaments, and per-tournament roles."""

from __future__ import annotations

from rest_framework.exceptions import NotAuthenticated, PermissionDenied

from .. import errors, selectors
from ..models import Match, TournamentRole

ORGANIZER = TournamentRole.Role.ORGANIZER
REFEREE = TournamentRole.Role.REFEREE
OFFICIALS = (ORGANIZER, REFEREE)


def require_role(request, tournament_id: int, *roles: str) -> None:
    if not request.user or not request.user.is_authenticated:
        raise NotAuthenticated("Authentication required: send 'Authorization: Token <key>'.")
    if not selectors.has_role(tournament_id, request.user, *roles):
        raise PermissionDenied(f"This needs the {' or '.join(roles)} role in this tournament.")


def visible(queryset, pk: int, request, *, tournament: str = ""):
    """The object with this id, or a 404 naming what was looked for: the same 404 whether it does
    not exist or belongs to a private tournament the caller may not watch (ids leak nothing).

    `tournament` is the path from the object to its tournament ("" for a tournament itself).
    """
    found = (queryset.select_related(tournament) if tournament else queryset).filter(pk=pk).first()
    owner = found
    for step in filter(None, tournament.split("__")):
        owner = getattr(owner, step, None)
    if owner is None or not selectors.can_watch(owner, request.user):
        raise errors.NotFound(f"{queryset.model._meta.verbose_name.capitalize()} {pk} does not exist.")
    return found


def match_for_officials(request, match_id: int, *roles: str) -> None:
    """404 for an unknown (or hidden) match, else 403 unless the caller officiates its tournament
    (with one of `roles`: organizer or referee unless said)."""
    match = visible(Match.objects.all(), match_id, request, tournament="tournament")
    require_role(request, match.tournament_id, *(roles or OFFICIALS))
