"""Disputes: who may dispute what, and resolving one by keeping or correcting the result.

- A participant may dispute their own *completed* match once, until the match it feeds has started.
- Referees and organizers may also dispute a live match (pausing it) or a completed one.
- Once the tournament is completed, only an organizer may dispute.
- Referees and organizers resolve. A disputed match holds the start of the match it feeds
  (`matches.start_match`), so a correction can still carry its winner forward.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from realtime import broadcast

from .. import selectors
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..models import Dispute, Match, Tournament, TournamentRole
from . import progress
from ._rows import (
    bump_version,
    locked_match,
    locked_tournament,
    locked_tournament_and_match,
    result_change,
    save_and_refresh,
    score_of,
    tournament_of,
    write_scores,
)
from .live_scores import check_scores
from .matches import last_game, participant_of, series_of, winning_side

OFFICIALS = (TournamentRole.Role.ORGANIZER, TournamentRole.Role.REFEREE)


def open_dispute(*, match_id: int, opened_by: AbstractBaseUser, reason: str) -> Dispute:
    reason = reason.strip()
    if not reason:
        raise Invalid("A dispute needs a reason.", field="reason")
    with transaction.atomic():
        _, match = locked_tournament_and_match(match_id)
        _check_may_dispute(match, opened_by)
        dispute = Dispute.objects.create(match=match, opened_by=opened_by, reason=reason)
        match.state = Match.State.DISPUTED
        bump_version(match)
        save_and_refresh(match, "state", "version")
        broadcast.dispute_created(
            match_id=match.id,
            tournament_id=match.tournament_id,
            version=match.version,
            dispute_id=dispute.id,
            reason=reason,
            score=score_of(match),
            game=match.game,
        )
    return dispute


def _check_may_dispute(match: Match, user: AbstractBaseUser) -> None:
    official = selectors.has_role(match.tournament_id, user, *OFFICIALS)
    if match.tournament.status == Tournament.Status.COMPLETED and not selectors.has_role(
        match.tournament_id, user, TournamentRole.Role.ORGANIZER
    ):
        raise Conflict("The tournament is completed: only an organizer may dispute a result now.")
    if match.state == Match.State.LIVE:
        if not official:
            raise Forbidden("Only a referee or an organizer may dispute a live match.")
        return
    if match.state != Match.State.COMPLETED:
        raise Conflict(f"Only a live or completed match can be disputed; this one is {match.state}.")
    if official:
        return
    if user.pk not in selectors.player_user_ids(match):
        raise Forbidden("Only the players of a match, its referees and organizers may dispute it.")
    if Dispute.objects.filter(match=match, opened_by=user).exists():
        # Each dispute holds the next match: a player may not stall the bracket by disputing again.
        raise Conflict("You have already disputed this match; its officials may reopen it.")
    if any(following.state != Match.State.SCHEDULED for following in progress.next_matches(match)):
        raise Conflict("A match this one feeds has started: its result can no longer be disputed.")


def resolve_dispute(
    *,
    dispute_id: int,
    resolved_by: AbstractBaseUser,
    resolution: str,
    participant1_score: int | None = None,
    participant2_score: int | None = None,
) -> Dispute:
    """Close a dispute, keeping the result (no scores) or correcting it (both scores).

    The match returns to what it was: live, or completed. A live match's correction is its current
    game's score; a completed match's is its last game's, which may change its winner, who then
    replaces the old one in the next match, unless that match has started.
    """
    correction = _correction(participant1_score, participant2_score)
    resolution = resolution.strip()
    if not resolution:
        raise Invalid("Say how the dispute was resolved.", field="resolution")
    with result_change():
        tournament = locked_tournament(tournament_of(Dispute, dispute_id, field="match__tournament_id"))
        dispute = Dispute.objects.select_for_update(of=("self",)).filter(pk=dispute_id).order_by().first()
        if dispute is None:
            raise NotFound(f"Dispute {dispute_id} does not exist.")
        match = dispute.match = locked_match(dispute.match_id)
        if dispute.status != Dispute.Status.OPEN:
            raise Conflict("This dispute is already resolved.")
        if correction is None:
            _keep_result(match)
        else:
            _correct_result(match, *correction)
        dispute.status = Dispute.Status.RESOLVED
        dispute.resolution = resolution
        dispute.resolved_by = resolved_by
        dispute.resolved_at = timezone.now()
        dispute.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])
        broadcast.dispute_resolved(
            match_id=match.id,
            tournament_id=match.tournament_id,
            version=match.version,
            dispute_id=dispute.id,
            state=match.state,
            winner_id=match.winner_id,
            corrected=score_of(match) if correction is not None else None,
            known_score=score_of(match),
            game=match.game,
            series=match.series,
        )  # a live match's stream goes on from the (corrected) score
        # Its result may have changed; and the matches it feeds are no longer held by the dispute.
        progress.settle(tournament, match)
    return dispute


def _correction(participant1_score: int | None, participant2_score: int | None) -> tuple[int, int] | None:
    """Both scores (a correction), neither (keep the result), or an error."""
    if participant1_score is None and participant2_score is None:
        return None
    if participant1_score is None or participant2_score is None:
        raise Invalid("Give both scores to correct the result, or neither to keep it.")
    check_scores(participant1_score, participant2_score)
    return participant1_score, participant2_score


def _state_before_dispute(match: Match) -> str:
    return Match.State.COMPLETED if match.is_over else Match.State.LIVE


def _keep_result(match: Match) -> None:
    match.state = _state_before_dispute(match)
    bump_version(match)
    save_and_refresh(match, "state", "version")


def _correct_result(match: Match, participant1_score: int, participant2_score: int) -> None:
    """New scores: a live match's current game, or a completed match's last game (and so perhaps
    its winner, carried forward by the caller's settle)."""
    match.state = _state_before_dispute(match)
    if match.is_over:
        _correct_last_game(match, participant1_score, participant2_score)
    write_scores(match, participant1_score, participant2_score)
    bump_version(match)
    save_and_refresh(match)


def _correct_last_game(match: Match, participant1_score: int, participant2_score: int) -> None:
    if match.forfeit:
        raise Conflict("A walkover has no score to correct: reopen the match instead.")
    last, last_side = last_game(match)
    side = winning_side(participant1_score, participant2_score)
    before = series_of(match).before_last_game(last_side)
    series = before.after_game(side)
    if not series.over:
        raise Invalid(
            f"With game {last.number} won by the other side the series would not be over: reopen the match instead."
        )
    last.participant1_score, last.participant2_score = participant1_score, participant2_score
    last.winner_id = participant_of(match, side)
    last.save(update_fields=["participant1_score", "participant2_score", "winner"])
    match.participant1_wins, match.participant2_wins = series.wins
    match.winner_id = participant_of(match, series.winner_side)
