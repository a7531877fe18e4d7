"""Write side of the domain: every state change goes through one of these functions.

Each runs in a transaction, locks the rows two requests could race on, and tells spectators
through `realtime.broadcast` (which publishes only after the transaction commits). Each refuses
what the rules refuse with a `tournaments.errors` exception, having changed nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from realtime import broadcast

from . import bracket
from .errors import Conflict, Invalid, NotFound
from .models import MAX_SCORE, Dispute, Match, Participant, Tournament, TournamentRole


def create_tournament(
    *,
    name: str,
    game: str,
    organizer: AbstractBaseUser,
    participant_names: Sequence[str] = (),
    visibility: str = Tournament.Visibility.PUBLIC,
) -> Tournament:
    with transaction.atomic():
        tournament = Tournament.objects.create(name=name, game=game, visibility=visibility)
        TournamentRole.objects.create(tournament=tournament, user=organizer, role=TournamentRole.Role.ORGANIZER)
        Participant.objects.bulk_create(
            Participant(tournament=tournament, name=participant_name, seed=seed)
            for seed, participant_name in enumerate(participant_names, start=1)
        )
    return tournament


def _bracket_data(tournament_id: int) -> list[dict]:
    return list(
        Match.objects.filter(tournament_id=tournament_id).values(
            "id", "round", "position", "state", "participant1_id", "participant2_id", "winner_id"
        )
    )


def generate_bracket(*, tournament_id: int) -> list[Match]:
    """(Re)generate the single-elimination bracket; refused once a match has started."""
    with transaction.atomic():
        tournament = _locked_tournament(tournament_id)
        if tournament.status == Tournament.Status.COMPLETED:
            raise Conflict("The tournament is completed.")
        if tournament.matches.exclude(state=Match.State.SCHEDULED).exists():
            raise Conflict("A match has already started; the bracket can no longer be regenerated.")
        participants = {p.seed: p for p in tournament.participants.all()}
        if not bracket.MIN_PARTICIPANTS <= len(participants) <= bracket.MAX_PARTICIPANTS:
            raise Invalid(
                f"A bracket needs {bracket.MIN_PARTICIPANTS} to {bracket.MAX_PARTICIPANTS} participants;"
                f" this tournament has {len(participants)}."
            )
        by_rank = dict(enumerate(sorted(participants.values(), key=lambda p: p.seed), start=1))
        tournament.matches.all().delete()
        matches = Match.objects.bulk_create(
            Match(
                tournament=tournament,
                round=planned.round,
                position=planned.position,
                participant1=by_rank.get(planned.seed1),
                participant2=by_rank.get(planned.seed2),
            )
            for planned in bracket.plan(len(participants))
        )
        tournament.status = Tournament.Status.ONGOING
        tournament.save(update_fields=["status"])
        broadcast.bracket_generated(tournament_id=tournament.id, matches=_bracket_data(tournament.id))
    return matches


def _locked_tournament(tournament_id: int) -> Tournament:
    tournament = Tournament.objects.select_for_update().filter(pk=tournament_id).first()
    if tournament is None:
        raise NotFound(f"Tournament {tournament_id} does not exist.")
    return tournament


def _locked_match(match_id: int) -> Match:
    match = Match.objects.select_for_update().filter(pk=match_id).first()
    if match is None:
        raise NotFound(f"Match {match_id} does not exist.")
    return match


def _check_scores(participant1_score: int, participant2_score: int) -> None:
    for score in (participant1_score, participant2_score):
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
            raise Invalid(f"Scores must be whole numbers from 0 to {MAX_SCORE}.")


def _set_scores(match: Match, participant1_score: int, participant2_score: int) -> None:
    """New scores; every score write bumps the version realtime uses to keep the newest one."""
    match.participant1_score = participant1_score
    match.participant2_score = participant2_score
    match.score_version = F("score_version") + 1


def _announce_score(match: Match) -> None:
    """Tell spectators a live match's (saved, refreshed) score: coalesced, after commit."""
    broadcast.score_changed(
        match_id=match.id,
        tournament_id=match.tournament_id,
        version=match.score_version,
        participant1_score=match.participant1_score,
        participant2_score=match.participant2_score,
    )


def start_match(*, match_id: int) -> Match:
    with transaction.atomic():
        match = _locked_match(match_id)
        if match.state != Match.State.SCHEDULED:
            raise Conflict(f"Only a scheduled match can start; this one is {match.state}.")
        if match.participant1_id is None or match.participant2_id is None:
            raise Conflict("Both participants must be known before the match starts.")
        match.state = Match.State.LIVE
        match.started_at = timezone.now()
        match.save(update_fields=["state", "started_at"])
        broadcast.match_started(
            match_id=match.id,
            tournament_id=match.tournament_id,
            participant1_id=match.participant1_id,
            participant2_id=match.participant2_id,
        )
    return match


def update_score(*, match_id: int, participant1_score: int, participant2_score: int) -> Match:
    """Record a live score. Spectators receive it coalesced (at most once per window)."""
    _check_scores(participant1_score, participant2_score)
    with transaction.atomic():
        match = _locked_match(match_id)
        if match.state != Match.State.LIVE:
            raise Conflict(f"Scores can only be posted to a live match; this one is {match.state}.")
        _set_scores(match, participant1_score, participant2_score)
        match.save(update_fields=["participant1_score", "participant2_score", "score_version"])
        match.refresh_from_db(fields=["score_version"])
        _announce_score(match)
    return match


def _winner_of(match: Match, participant1_score: int, participant2_score: int) -> int:
    if participant1_score == participant2_score:
        raise Invalid("A match cannot end in a tie in single elimination.")
    return match.participant1_id if participant1_score > participant2_score else match.participant2_id


def complete_match(*, match_id: int, participant1_score: int, participant2_score: int) -> Match:
    """Final score and winner; the winner advances; the final completes the tournament."""
    _check_scores(participant1_score, participant2_score)
    with transaction.atomic():
        match = _locked_match(match_id)
        if match.state != Match.State.LIVE:
            raise Conflict(f"Only a live match can be completed; this one is {match.state}.")
        winner_id = _winner_of(match, participant1_score, participant2_score)
        _set_scores(match, participant1_score, participant2_score)
        match.state = Match.State.COMPLETED
        match.winner_id = winner_id
        match.completed_at = timezone.now()
        match.save()
        match.refresh_from_db(fields=["score_version"])
        broadcast.match_completed(
            match_id=match.id,
            tournament_id=match.tournament_id,
            participant1_score=participant1_score,
            participant2_score=participant2_score,
            winner_id=winner_id,
        )
        _carry_result_forward(match)
    return match


def _carry_result_forward(match: Match) -> None:
    """What a (new or corrected) result of a completed match changes beyond it: the winner takes
    their slot in the next match, or, for the final, the tournament completes with that champion."""
    next_match = _locked_next_match(match)
    if next_match is None:
        _complete_tournament(match)
    else:
        _advance_winner(match, next_match)


def _locked_next_match(match: Match) -> Match | None:
    """The match the winner of `match` plays next (None for the final), locked."""
    next_round, next_position, _ = bracket.next_slot(match.round, match.position)
    return (
        Match.objects.select_for_update()
        .filter(tournament_id=match.tournament_id, round=next_round, position=next_position)
        .first()
    )


def _advance_winner(match: Match, next_match: Match) -> None:
    """Put the match's winner into its slot of `next_match`: refused (409) once that one started."""
    if next_match.state != Match.State.SCHEDULED:
        raise Conflict(f"The next match has already started ({next_match.state}); the bracket can no longer change.")
    _, _, slot = bracket.next_slot(match.round, match.position)
    # Only this slot's column is written, so two sibling matches completing at once cannot
    # overwrite each other's winner even where row locks are not available.
    Match.objects.filter(pk=next_match.pk).update(**{f"participant{slot}_id": match.winner_id})
    broadcast.bracket_updated(tournament_id=match.tournament_id, matches=_bracket_data(match.tournament_id))


def _complete_tournament(final: Match) -> None:
    """The final's winner is the champion (again, if a correction changed them)."""
    runner_up_id = final.participant2_id if final.winner_id == final.participant1_id else final.participant1_id
    tournament = _locked_tournament(final.tournament_id)
    tournament.status = Tournament.Status.COMPLETED
    tournament.winner_id = final.winner_id
    tournament.completed_at = tournament.completed_at or timezone.now()
    tournament.save(update_fields=["status", "winner", "completed_at"])
    broadcast.tournament_completed(
        tournament_id=final.tournament_id,
        winner_id=final.winner_id,
        runner_up_id=runner_up_id,
    )


def open_dispute(*, match_id: int, opened_by: AbstractBaseUser, reason: str) -> Dispute:
    reason = reason.strip()
    if not reason:
        raise Invalid("A dispute needs a reason.")
    with transaction.atomic():
        match = _locked_match(match_id)
        if match.state not in (Match.State.LIVE, Match.State.COMPLETED):
            raise Conflict(f"Only a live or completed match can be disputed; this one is {match.state}.")
        dispute = Dispute.objects.create(match=match, opened_by=opened_by, reason=reason)
        match.state = Match.State.DISPUTED
        match.save(update_fields=["state"])
        broadcast.dispute_created(
            match_id=match.id, tournament_id=match.tournament_id, dispute_id=dispute.id, reason=reason
        )
    return dispute


def resolve_dispute(
    *,
    dispute_id: int,
    resolved_by: AbstractBaseUser,
    resolution: str,
    participant1_score: int | None = None,
    participant2_score: int | None = None,
) -> Dispute:
    """Close a dispute, keeping the result (no scores) or correcting it (both scores).

    The match returns to what it was: live, or completed. Correcting a completed match may change
    its winner, who then replaces the old one in the next match, unless that match has started.
    """
    correction = _correction(participant1_score, participant2_score)
    resolution = resolution.strip()
    if not resolution:
        raise Invalid("Say how the dispute was resolved.")
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().filter(pk=dispute_id).first()
        if dispute is None:
            raise NotFound(f"Dispute {dispute_id} does not exist.")
        if dispute.status != Dispute.Status.OPEN:
            raise Conflict("This dispute is already resolved.")
        match = dispute.match = _locked_match(dispute.match_id)
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
            dispute_id=dispute.id,
            state=match.state,
            participant1_score=match.participant1_score,
            participant2_score=match.participant2_score,
            winner_id=match.winner_id,
        )
        if match.state == Match.State.LIVE and correction is not None:
            _announce_score(match)  # the live stream continues from the corrected score
    return dispute


def _correction(participant1_score: int | None, participant2_score: int | None) -> tuple[int, int] | None:
    """Both scores (a correction), neither (keep the result), or an error."""
    if participant1_score is None and participant2_score is None:
        return None
    if participant1_score is None or participant2_score is None:
        raise Invalid("Give both scores to correct the result, or neither to keep it.")
    _check_scores(participant1_score, participant2_score)
    return participant1_score, participant2_score


def _state_before_dispute(match: Match) -> str:
    return Match.State.COMPLETED if match.is_over else Match.State.LIVE


def _keep_result(match: Match) -> None:
    match.state = _state_before_dispute(match)
    match.save(update_fields=["state"])


def _correct_result(match: Match, participant1_score: int, participant2_score: int) -> None:
    """New scores; for a completed match also the winner, carried forward if it changed."""
    match.state = _state_before_dispute(match)
    previous_winner_id = match.winner_id
    if match.is_over:
        match.winner_id = _winner_of(match, participant1_score, participant2_score)
    _set_scores(match, participant1_score, participant2_score)
    match.save()
    match.refresh_from_db(fields=["score_version"])
    if match.winner_id != previous_winner_id:
        # After the save: what goes out about the bracket shows this match corrected.
        _carry_result_forward(match)
