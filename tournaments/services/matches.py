"""Matches: start, live score, completion, and what a result carries forward in the bracket."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from realtime import broadcast

from .. import bracket
from ..errors import Conflict, Invalid
from ..models import MAX_SCORE, Match, Tournament
from ._rows import bracket_data, bump_version, locked_match, locked_tournament, locked_tournament_and_match


def check_scores(participant1_score: int, participant2_score: int) -> None:
    for score in (participant1_score, participant2_score):
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
            raise Invalid(f"Scores must be whole numbers from 0 to {MAX_SCORE}.")


def set_scores(match: Match, participant1_score: int, participant2_score: int) -> None:
    """New scores; every score write bumps the version realtime uses to keep the newest one."""
    match.participant1_score = participant1_score
    match.participant2_score = participant2_score
    match.score_version = F("score_version") + 1


def save_and_refresh(match: Match, *fields: str) -> None:
    """Save (all fields, or `fields`) and read back the counters the database incremented."""
    match.save(update_fields=list(fields) or None)
    match.refresh_from_db(fields=["score_version", "version"])


def announce_score(match: Match) -> None:
    """Tell spectators a live match's (saved, refreshed) score: coalesced, after commit."""
    broadcast.score_changed(
        match_id=match.id,
        tournament_id=match.tournament_id,
        version=match.score_version,
        participant1_score=match.participant1_score,
        participant2_score=match.participant2_score,
    )


def winner_of(match: Match, participant1_score: int, participant2_score: int) -> int:
    if participant1_score == participant2_score:
        raise Invalid("A match cannot end in a tie in single elimination.")
    return match.participant1_id if participant1_score > participant2_score else match.participant2_id


def start_match(*, match_id: int) -> Match:
    """Scheduled → live; held while a match feeding it is disputed (its winner may still change)."""
    with transaction.atomic():
        _, match = locked_tournament_and_match(match_id)
        if match.state != Match.State.SCHEDULED:
            raise Conflict(f"Only a scheduled match can start; this one is {match.state}.")
        if match.participant1_id is None or match.participant2_id is None:
            raise Conflict("Both participants must be known before the match starts.")
        feeding = [
            Match.objects.filter(tournament_id=match.tournament_id, round=r, position=p, state=Match.State.DISPUTED)
            for r, p in bracket.feeding_slots(match.round, match.position)
        ]
        if any(query.exists() for query in feeding):
            raise Conflict("A match feeding this one is disputed; it can start once the dispute is resolved.")
        match.state = Match.State.LIVE
        match.started_at = timezone.now()
        bump_version(match)
        save_and_refresh(match, "state", "started_at", "version")
        broadcast.match_started(
            match_id=match.id,
            tournament_id=match.tournament_id,
            version=match.version,
            participant1_id=match.participant1_id,
            participant2_id=match.participant2_id,
        )
    return match


def update_score(*, match_id: int, participant1_score: int, participant2_score: int) -> Match:
    """Record a live score. Spectators receive it coalesced (at most once per window)."""
    check_scores(participant1_score, participant2_score)
    with transaction.atomic():
        match = locked_match(match_id)
        if match.state != Match.State.LIVE:
            raise Conflict(f"Scores can only be posted to a live match; this one is {match.state}.")
        set_scores(match, participant1_score, participant2_score)
        save_and_refresh(match, "participant1_score", "participant2_score", "score_version")
        announce_score(match)
    return match


MAX_ADJUSTMENT = 100


def adjust_score(*, match_id: int, participant1_delta: int = 0, participant2_delta: int = 0) -> Match:
    """Add to a live score (never below 0), under the row lock: what a referee's +/− taps send, so
    two referees tapping at once both count (absolute posts would overwrite each other)."""
    for delta in (participant1_delta, participant2_delta):
        if isinstance(delta, bool) or not isinstance(delta, int) or abs(delta) > MAX_ADJUSTMENT:
            raise Invalid(f"Adjustments are whole numbers from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}.")
    with transaction.atomic():
        match = locked_match(match_id)
        if match.state != Match.State.LIVE:
            raise Conflict(f"Scores can only be posted to a live match; this one is {match.state}.")
        new_scores = (
            min(MAX_SCORE, max(0, match.participant1_score + participant1_delta)),
            min(MAX_SCORE, max(0, match.participant2_score + participant2_delta)),
        )
        set_scores(match, *new_scores)
        save_and_refresh(match, "participant1_score", "participant2_score", "score_version")
        announce_score(match)
    return match


def complete_match(*, match_id: int, participant1_score: int, participant2_score: int) -> Match:
    """Final score and winner; the winner advances; the final completes the tournament."""
    check_scores(participant1_score, participant2_score)
    with transaction.atomic():
        _, match = locked_tournament_and_match(match_id)
        if match.state != Match.State.LIVE:
            raise Conflict(f"Only a live match can be completed; this one is {match.state}.")
        winner_id = winner_of(match, participant1_score, participant2_score)
        set_scores(match, participant1_score, participant2_score)
        match.state = Match.State.COMPLETED
        match.winner_id = winner_id
        match.completed_at = timezone.now()
        bump_version(match)
        save_and_refresh(match)
        broadcast.match_completed(
            match_id=match.id,
            tournament_id=match.tournament_id,
            version=match.version,
            score_version=match.score_version,
            participant1_score=participant1_score,
            participant2_score=participant2_score,
            winner_id=winner_id,
        )
        carry_result_forward(match)
    return match


def carry_result_forward(match: Match) -> None:
    """What a (new or corrected) result of a completed match changes beyond it: the winner takes
    their slot in the next match, or, for the final, the tournament completes with that champion."""
    next_match = locked_next_match(match)
    if next_match is None:
        complete_tournament(match)
    else:
        advance_winner(match, next_match)


def locked_next_match(match: Match) -> Match | None:
    """The match the winner of `match` plays next (None for the final), locked."""
    next_round, next_position, _ = bracket.next_slot(match.round, match.position)
    return (
        Match.objects.select_for_update(of=("self",))
        .filter(tournament_id=match.tournament_id, round=next_round, position=next_position)
        .order_by()
        .first()
    )


def advance_winner(match: Match, next_match: Match) -> None:
    """Put the match's winner into its slot of `next_match`: refused (409) once that one started."""
    if next_match.state != Match.State.SCHEDULED:
        raise Conflict(f"The next match has already started ({next_match.state}); the bracket can no longer change.")
    _, _, slot = bracket.next_slot(match.round, match.position)
    # Only this slot's column is written, so two sibling matches completing at once cannot
    # overwrite each other's winner even where row locks are not available.
    slot_change = {f"participant{slot}_id": match.winner_id, "version": F("version") + 1}
    Match.objects.filter(pk=next_match.pk).update(**slot_change)
    broadcast.bracket_updated(tournament_id=match.tournament_id, matches=bracket_data(match.tournament_id))


def complete_tournament(final: Match) -> None:
    """The final's winner is the champion (again, if a correction changed them)."""
    runner_up_id = final.participant2_id if final.winner_id == final.participant1_id else final.participant1_id
    tournament = locked_tournament(final.tournament_id)
    tournament.status = Tournament.Status.COMPLETED
    tournament.winner_id = final.winner_id
    tournament.completed_at = tournament.completed_at or timezone.now()
    tournament.save(update_fields=["status", "winner", "completed_at"])
    broadcast.tournament_completed(
        tournament_id=final.tournament_id, winner_id=final.winner_id, runner_up_id=runner_up_id
    )
