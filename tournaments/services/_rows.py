"""Row lookups under lock, and the shapes of rows that frames carry (shared by the services).

Lock order, everywhere: the tournament, then its matches, then participants and disputes. Every
service that changes more than one match's score takes the tournament's row first, so two services
can never wait on each other (PostgreSQL detects the deadlock otherwise; SQLite serializes writers
anyway). `of=("self",)` keeps a lookup from also locking rows it joins (the models' default
ordering joins the tournament): each lock is taken where this order says.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.db.models import F

from realtime import broadcast

from .. import selectors
from ..errors import NotFound
from ..models import Match, Participant, Tournament

BRACKET_FIELDS = (
    "id", "bracket", "group", "round", "position", "best_of", "state", "participant1_id", "participant2_id",
    "winner_id", "forfeit", "reset_of_id", "version",
)  # fmt: skip


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
    return [selectors.participant_data(p) for p in Participant.objects.filter(tournament_id=tournament_id)]


def bump_version(match: Match) -> None:
    """Mark a change of the match's state, participants or winner (saved with the row)."""
    match.version = F("version") + 1


def save_and_refresh(match: Match, *fields: str) -> None:
    """Save (all fields, or `fields`) and read back the counter the database incremented."""
    match.save(update_fields=list(fields) or None)
    match.refresh_from_db(fields=["version"])


def score_of(match: Match) -> tuple[int, int, int]:
    """(p1, p2, score_version) as the database holds them (live scores may be a save interval ahead)."""
    return match.participant1_score, match.participant2_score, match.score_version


def write_scores(
    match: Match, participant1_score: int, participant2_score: int, *, closing: bool = False
) -> broadcast.Reservation:
    """Scores this transaction writes (a result or a correction), with a score version reserved in
    Redis so they are newer than every live score taken before. `closing`: a game or the match is
    being completed, so Redis takes no live score after this one (the reservation has the last)."""
    reservation = broadcast.reserve_score_version(
        match_id=match.id, tournament_id=match.tournament_id, floor=match.score_version,
        version=match.version, closing=closing,
    )  # fmt: skip
    if closing:
        closed = _closed_gates.get()
        if closed is None:
            raise RuntimeError("a score that closes a match's gate is written inside result_change()")
        closed.append((match.id, reservation.score_version))
    match.score_version = reservation.score_version
    match.participant1_score = participant1_score
    match.participant2_score = participant2_score
    return reservation


# (match id, reserved score version) of the gates the current result_change() closed.
_closed_gates: ContextVar[list[tuple[int, int]] | None] = ContextVar("closed_gates", default=None)


@contextmanager
def result_change() -> Iterator[None]:
    """The transaction of a change of results. A completion shuts the match's gate in Redis before
    it commits (`write_scores(closing=True)`): if the transaction fails, every gate it shut is
    opened again, so the match takes live scores as before."""
    closed: list[tuple[int, int]] = []
    token = _closed_gates.set(closed)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        for match_id, score_version in closed:
            broadcast.reopen_after_failed_completion(match_id=match_id, score_version=score_version)
        raise
    finally:
        _closed_gates.reset(token)
