"""Read side of the domain: who may see what, and the state a client needs (API and snapshots)."""

from __future__ import annotations

from enum import Enum

from django.db.models import Q

from realtime import broadcast

from .models import Match, Participant, Tournament, TournamentRole


class Access(Enum):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"


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


def tournament_access(tournament_id: int, user) -> Access:
    tournament = Tournament.objects.filter(pk=tournament_id).first()
    if tournament is None:
        return Access.NOT_FOUND
    return Access.ALLOWED if can_watch(tournament, user) else Access.FORBIDDEN


def match_access(match_id: int, user) -> Access:
    match = Match.objects.select_related("tournament").filter(pk=match_id).first()
    if match is None:
        return Access.NOT_FOUND
    return Access.ALLOWED if can_watch(match.tournament, user) else Access.FORBIDDEN


def _tournament_data(tournament: Tournament, position: broadcast.Position) -> dict:
    return {
        "id": tournament.id,
        "name": tournament.name,
        "game": tournament.game,
        "format": tournament.format,
        "visibility": tournament.visibility,
        "status": tournament.status,
        "winner_id": tournament.winner_id,
        "sequence": position.of_tournament(tournament.id),
        "epoch": position.epoch,
    }


def _participant_data(participant: Participant) -> dict:
    return {"id": participant.id, "name": participant.name, "seed": participant.seed}


def _match_data(match: Match, position: broadcast.Position, as_published: bool) -> dict:
    scores = (match.participant1_score, match.participant2_score)
    if as_published and position.of_match(match.id) > 0:
        # What clients were last sent (0:0 if only match_started so far), not a newer database
        # score whose frame is still pending: a snapshot must never be ahead of its sequence.
        scores = position.shown_scores.get(match.id, (0, 0))
    return {
        "id": match.id,
        "round": match.round,
        "position": match.position,
        "state": match.state,
        "participant1_id": match.participant1_id,
        "participant2_id": match.participant2_id,
        "participant1_score": scores[0],
        "participant2_score": scores[1],
        "winner_id": match.winner_id,
        "sequence": position.of_match(match.id),
    }


def tournament_of_match(match_id: int) -> int:
    return Match.objects.values_list("tournament_id", flat=True).get(pk=match_id)


def match_ids(tournament_id: int) -> list[int]:
    return list(Match.objects.filter(tournament_id=tournament_id).values_list("id", flat=True))


def tournament_detail(tournament_id: int, *, as_published: bool = False) -> dict:
    """Everything a client shows about a tournament, with the latest sequences.

    Sequences are read *before* the database, so the state is never older than they say. With
    `as_published` (WebSocket snapshots) scores are the last ones published, exactly consistent
    with the sequences; without (the API) they are the database's latest.
    """
    ids = match_ids(tournament_id)
    position = broadcast.position(tournament_id, ids)
    tournament = Tournament.objects.get(pk=tournament_id)
    return {
        "tournament": _tournament_data(tournament, position),
        "participants": [_participant_data(p) for p in tournament.participants.all()],
        "matches": [_match_data(m, position, as_published) for m in Match.objects.filter(tournament_id=tournament_id)],
        "viewers": broadcast.viewers(tournament_id, ids),
    }


def match_detail(match_id: int, *, as_published: bool = False) -> dict:
    position = broadcast.position(tournament_of_match(match_id), [match_id])
    match = Match.objects.select_related("tournament", "participant1", "participant2").get(pk=match_id)
    return {
        "tournament": _tournament_data(match.tournament, position),
        "participants": [_participant_data(p) for p in (match.participant1, match.participant2) if p],
        "match": _match_data(match, position, as_published),
        "viewers": broadcast.viewers(match.tournament_id, [match_id]),
    }
