"""Row lookups under lock, and the shapes of rows that frames carry (shared by the services).

Lock order, everywhere: the tournament, then its matches, then participants and disputes. Every
service that changes more than one match's score takes the tournament's row first, so two services
can never wait on each other (PostgreSQL detects the deadlock otherwise; SQLite serializes writers
anyway). `of=("self",)` keeps a lookup from also locking rows it joins (the models' default
ordering joins the tournament): each lock is taken where this order says.
"""

from __future__ import annotations

from django.db.models import F

from ..errors import NotFound
from ..models import Match, Participant, Tournament

BRACKET_FIELDS = ("id", "round", "position", "state", "participant1_id", "participant2_id", "winner_id", "version")


def locked_tournament(tournament_id: int) -> Tournament:
    tournament = Tournament.objects.select_for_update(of=("self",)).filter(pk=tournament_id).order_by().first()
    if tournament is None:
        raise NotFound(f"Tournament {tournament_id} does not exist.")
    return tournament


def locked_match(match_id: int) -> Match:
    """The match alone, locked: for a change of its score, which touches no other row."""
    match = Match.objects.select_for_update(of=("self",)).filter(pk=match_id).order_by().first()
    if match is None:
        raise NotFound(f"Match {match_id} does not exist.")
    return match


def tournament_of(model, pk: int, *, field: str = "tournament_id") -> int:
    """The id of the tournament a row belongs to, read without a lock (it never changes)."""
    tournament_id = model.objects.filter(pk=pk).values_list(field, flat=True).first()
    if tournament_id is None:
        raise NotFound(f"{model._meta.verbose_name.capitalize()} {pk} does not exist.")
    return tournament_id


def locked_tournament_and_match(match_id: int) -> tuple[Tournament, Match]:
    """For changes of a match's state, winner or participants: the tournament first, then the match."""
    tournament = locked_tournament(tournament_of(Match, match_id))
    return tournament, locked_match(match_id)


def bracket_data(tournament_id: int) -> list[dict]:
    """Every match's place, state and version: what bracket frames carry (no scores)."""
    return list(Match.objects.filter(tournament_id=tournament_id).values(*BRACKET_FIELDS))


def participants_data(tournament_id: int) -> list[dict]:
    return list(Participant.objects.filter(tournament_id=tournament_id).values("id", "name", "seed"))


def bump_version(match: Match) -> None:
    """Mark a change of the match's state, participants or winner (saved with the row)."""
    match.version = F("version") + 1
