"""Matches: start, completion, and what a result carries forward in the bracket (live scores: live_scores.py)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from realtime import broadcast

from .. import bracket
from ..errors import Conflict, Invalid
from ..models import Match, Tournament
from ._rows import bracket_data, bump_version, locked_tournament, locked_tournament_and_match
from .live_scores import check_scores


def save_and_refresh(match: Match, *fields: str) -> None:
    """Save (all fields, or `fields`) and read back the counter the database incremented."""
    match.save(update_fields=list(fields) or None)
    match.refresh_from_db(fields=["version"])


def score_of(match: Match) -> tuple[int, int, int]:
    """(p1, p2, score_version) as the database holds them (live scores may be a save interval ahead)."""
    return match.participant1_score, match.participant2_score, match.score_version


def write_scores(match: Match, participant1_score: int, participant2_score: int, *, closing: bool = False) -> int:
    """Scores this transaction writes (a result or a correction), with a score version reserved in
    Redis so they are newer than every live score taken before; returns it. `closing`: the match is
    being completed, so Redis takes no live score after this one."""
    match.score_version = broadcast.reserve_score_version(
        match_id=match.id, tournament_id=match.tournament_id, floor=match.score_version,
        version=match.version, closing=closing,
    )  # fmt: skip
    match.participant1_score = participant1_score
    match.participant2_score = participant2_score
    return match.score_version


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
            score=score_of(match),
        )
    return match


def complete_match(*, match_id: int, participant1_score: int, participant2_score: int) -> Match:
    """Final score and winner; the winner advances; the final completes the tournament."""
    check_scores(participant1_score, participant2_score)
    reserved = None
    try:
        with transaction.atomic():
            _, match = locked_tournament_and_match(match_id)
            if match.state != Match.State.LIVE:
                raise Conflict(f"Only a live match can be completed; this one is {match.state}.")
            winner_id = winner_of(match, participant1_score, participant2_score)
            reserved = write_scores(match, participant1_score, participant2_score, closing=True)
            match.state = Match.State.COMPLETED
            match.winner_id = winner_id
            match.completed_at = timezone.now()
            bump_version(match)
            save_and_refresh(match)
            broadcast.match_completed(
                match_id=match.id,
                tournament_id=match.tournament_id,
                version=match.version,
                score=score_of(match),
                winner_id=winner_id,
            )
            carry_result_forward(match)
    except BaseException:
        if reserved is not None:  # Redis shut the match's gate for this completion: open it again
            broadcast.reopen_after_failed_completion(match_id=match_id, score_version=reserved)
        raise
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
