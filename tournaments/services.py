"""Write side of the domain: every state change goes through one of these functions.

Each runs in a transaction, locks the rows two requests could race on, and tells spectators
through `realtime.broadcast` (which publishes only after the transaction commits).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from realtime import broadcast
from realtime.events import Event

from . import bracket
from .models import MAX_SCORE, Dispute, Match, Participant, Tournament, TournamentRole


class DomainError(Exception):
    """A request the rules refuse. `status` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """Valid input, wrong moment: the match or tournament is not in a state that allows it."""

    status = 409
    code = "conflict"


def create_tournament(
    *,
    name: str,
    game: str,
    organizer,
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


def generate_bracket(tournament_id: int) -> list[Match]:
    """(Re)generate the single-elimination bracket; refused once a match has started."""
    with transaction.atomic():
        tournament = _locked_tournament(tournament_id)
        if tournament.status == Tournament.Status.COMPLETED:
            raise Conflict("The tournament is completed.")
        if tournament.matches.exclude(state=Match.State.SCHEDULED).exists():
            raise Conflict("A match has already started; the bracket can no longer be regenerated.")
        participants = {p.seed: p for p in tournament.participants.all()}
        if not bracket.MIN_PARTICIPANTS <= len(participants) <= bracket.MAX_PARTICIPANTS:
            raise DomainError(
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
        broadcast.tournament_event(
            Event.BRACKET_GENERATED, tournament_id=tournament.id, matches=_bracket_data(tournament.id)
        )
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
            raise DomainError(f"Scores must be whole numbers from 0 to {MAX_SCORE}.")


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


def start_match(match_id: int) -> Match:
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


def update_score(match_id: int, participant1_score: int, participant2_score: int) -> Match:
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


def complete_match(match_id: int, participant1_score: int, participant2_score: int) -> Match:
    """Final score and winner; the winner advances; the final completes the tournament."""
    _check_scores(participant1_score, participant2_score)
    if participant1_score == participant2_score:
        raise DomainError("A match cannot end in a tie in single elimination.")
    with transaction.atomic():
        match = _locked_match(match_id)
        if match.state != Match.State.LIVE:
            raise Conflict(f"Only a live match can be completed; this one is {match.state}.")
        winner_id = match.participant1_id if participant1_score > participant2_score else match.participant2_id
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
        _advance_winner(match)
    return match


def _advance_winner(match: Match) -> None:
    """Put the match's winner into its slot of the next match; the final completes the tournament.

    Also used when a dispute corrects a result: refused (409) once the next match has started.
    """
    loser_id = match.participant2_id if match.winner_id == match.participant1_id else match.participant1_id
    next_round, next_position, slot = bracket.next_slot(match.round, match.position)
    next_match = (
        Match.objects.select_for_update()
        .filter(tournament_id=match.tournament_id, round=next_round, position=next_position)
        .first()
    )
    if next_match is None:  # the final
        tournament = _locked_tournament(match.tournament_id)
        tournament.status = Tournament.Status.COMPLETED
        tournament.winner_id = match.winner_id
        tournament.completed_at = tournament.completed_at or timezone.now()
        tournament.save(update_fields=["status", "winner", "completed_at"])
        broadcast.tournament_event(
            Event.TOURNAMENT_COMPLETED,
            tournament_id=match.tournament_id,
            winner_id=match.winner_id,
            runner_up_id=loser_id,
        )
        return
    if next_match.state != Match.State.SCHEDULED:
        raise Conflict(f"The next match has already started ({next_match.state}); the bracket can no longer change.")
    # Only this slot's column is written, so two sibling matches completing at once cannot
    # overwrite each other's winner even where row locks are not available.
    Match.objects.filter(pk=next_match.pk).update(**{f"participant{slot}_id": match.winner_id})
    broadcast.tournament_event(
        Event.BRACKET_UPDATED, tournament_id=match.tournament_id, matches=_bracket_data(match.tournament_id)
    )


def open_dispute(match_id: int, opened_by, reason: str) -> Dispute:
    reason = reason.strip()
    if not reason:
        raise DomainError("A dispute needs a reason.")
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
    dispute_id: int,
    resolved_by,
    resolution: str,
    participant1_score: int | None = None,
    participant2_score: int | None = None,
) -> Dispute:
    """Close a dispute, keeping the result (no scores) or correcting it (both scores).

    The match returns to what it was: live, or completed. Correcting a completed match may change
    its winner, who then replaces the old one in the next match, unless that match has started.
    """
    correcting = participant1_score is not None or participant2_score is not None
    if correcting:
        if participant1_score is None or participant2_score is None:
            raise DomainError("Give both scores to correct the result, or neither to keep it.")
        _check_scores(participant1_score, participant2_score)
    resolution = resolution.strip()
    if not resolution:
        raise DomainError("Say how the dispute was resolved.")
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().filter(pk=dispute_id).first()
        if dispute is None:
            raise NotFound(f"Dispute {dispute_id} does not exist.")
        if dispute.status != Dispute.Status.OPEN:
            raise Conflict("This dispute is already resolved.")
        match = _locked_match(dispute.match_id)
        was_completed = match.winner_id is not None
        if correcting:
            if was_completed:
                if participant1_score == participant2_score:
                    raise DomainError("A match cannot end in a tie in single elimination.")
                winner_id = match.participant1_id if participant1_score > participant2_score else match.participant2_id
                winner_changed = winner_id != match.winner_id
                match.winner_id = winner_id
                if winner_changed:
                    _advance_winner(match)
            _set_scores(match, participant1_score, participant2_score)
        match.state = Match.State.COMPLETED if was_completed else Match.State.LIVE
        match.save()
        match.refresh_from_db(fields=["score_version"])
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
        if correcting and not was_completed:
            _announce_score(match)  # the live stream continues from the corrected score
    return dispute
