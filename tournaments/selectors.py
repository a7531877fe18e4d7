"""Read side of the domain: who may see what, and the state of a tournament in the database.

Nothing here knows about Redis: realtime adds sequences, published scores and viewers to these
documents itself (realtime/live_fields.py), for the API and for WebSocket snapshots.
"""

from __future__ import annotations

from django.db.models import Q

from .models import Match, Participant, Tournament, TournamentRole


def is_member(tournament: Tournament, user) -> bool:
    """Organizers, referees and registered participants of this tournament."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return (
        TournamentRole.objects.filter(tournament=tournament, user=user).exists()
        or Participant.objects.filter(tournament=tournament, user=user).exists()
    )


def has_role(tournament_id: int, user, *roles: str) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return TournamentRole.objects.filter(tournament_id=tournament_id, user=user, role__in=roles).exists()


def can_watch(tournament: Tournament, user) -> bool:
    return tournament.is_public or is_member(tournament, user)


def visible_tournaments(user):
    tournaments = Tournament.objects.all()
    if user is not None and user.is_authenticated and user.is_superuser:
        return tournaments
    if user is None or not user.is_authenticated:
        return tournaments.filter(visibility=Tournament.Visibility.PUBLIC)
    return tournaments.filter(
        Q(visibility=Tournament.Visibility.PUBLIC) | Q(roles__user=user) | Q(participants__user=user)
    ).distinct()


def watchable_tournament(tournament_id: int, user) -> Tournament | None:
    """The tournament if `user` may watch it; None if it does not exist *or* is private to others:
    an outsider learns nothing about a private tournament, not even that it exists."""
    tournament = Tournament.objects.filter(pk=tournament_id).first()
    return tournament if tournament is not None and can_watch(tournament, user) else None


def can_watch_tournament(tournament_id: int, user) -> bool:
    return watchable_tournament(tournament_id, user) is not None


def can_watch_match(match_id: int, user) -> bool:
    match = Match.objects.select_related("tournament").filter(pk=match_id).first()
    return match is not None and can_watch(match.tournament, user)


def _tournament_data(tournament: Tournament) -> dict:
    return {
        "id": tournament.id,
        "name": tournament.name,
        "game": tournament.game,
        "format": tournament.format,
        "visibility": tournament.visibility,
        "status": tournament.status,
        "winner_id": tournament.winner_id,
    }


def _participant_data(participant: Participant) -> dict:
    return {"id": participant.id, "name": participant.name, "seed": participant.seed}


def _match_data(match: Match) -> dict:
    return {
        "id": match.id,
        "round": match.round,
        "position": match.position,
        "state": match.state,
        "participant1_id": match.participant1_id,
        "participant2_id": match.participant2_id,
        "participant1_score": match.participant1_score,
        "participant2_score": match.participant2_score,
        "winner_id": match.winner_id,
    }


def tournament_of_match(match_id: int) -> int:
    return Match.objects.values_list("tournament_id", flat=True).get(pk=match_id)


def match_ids(tournament_id: int) -> list[int]:
    return list(Match.objects.filter(tournament_id=tournament_id).values_list("id", flat=True))


def tournament_state(tournament_id: int) -> dict:
    """The tournament, its participants and its matches as the database holds them now."""
    tournament = Tournament.objects.get(pk=tournament_id)
    return {
        "tournament": _tournament_data(tournament),
        "participants": [_participant_data(p) for p in tournament.participants.all()],
        "matches": [_match_data(m) for m in Match.objects.filter(tournament_id=tournament_id)],
    }


def match_state(match_id: int) -> dict:
    """One match with its tournament and its two participants, as the database holds them now."""
    match = Match.objects.select_related("tournament", "participant1", "participant2").get(pk=match_id)
    return {
        "tournament": _tournament_data(match.tournament),
        "participants": [_participant_data(p) for p in (match.participant1, match.participant2) if p],
        "match": _match_data(match),
    }
