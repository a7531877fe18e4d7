"""Row lookups under lock, and the shapes of rows that frames carry (shared by the services)."""

from __future__ import annotations

from django.db.models import F

from ..errors import NotFound
from ..models import Match, Participant, Tournament

BRACKET_FIELDS = ("id", "round", "position", "state", "participant1_id", "participant2_id", "winner_id", "version")


def locked_tournament(tournament_id: int) -> Tournament:
    tournament = Tournament.objects.select_for_update().filter(pk=tournament_id).first()
    if tournament is None:
        raise NotFound(f"Tournament {tournament_id} does not exist.")
    return tournament


def locked_match(match_id: int) -> Match:
    match = Match.objects.select_for_update().filter(pk=match_id).first()
    if match is None:
        raise NotFound(f"Match {match_id} does not exist.")
    return match


def bracket_data(tournament_id: int) -> list[dict]:
    """Every match's place, state and version: what bracket frames carry (no scores)."""
    return list(Match.objects.filter(tournament_id=tournament_id).values(*BRACKET_FIELDS))


def participants_data(tournament_id: int) -> list[dict]:
    return list(Participant.objects.filter(tournament_id=tournament_id).values("id", "name", "seed"))


def bump_version(match: Match) -> None:
    """Mark a change of the match's state, participants or winner (saved with the row)."""
    match.version = F("version") + 1
