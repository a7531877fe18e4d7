"""Matches: start, games and their series, forfeits and disqualifications, reopening a result.

A match is a best-of-N series (N odd, 1 to 9). Its live score is the current game's (live_scores.py);
`complete_game` ends that game with its final score: the series goes on with the next game at 0:0,
or, once a side has the wins it needs, the match is completed and its winner (and, for a
semi-final with a third-place match, its loser) goes on (progress.py). `complete_match` is the same
for a one-game match. Every result change ends in `progress.settle`, which keeps the bracket equal
to the replay of its results.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from realtime import broadcast

from ..errors import Conflict, Invalid
from ..models import Game, Match, Participant, Tournament
from ..results import Series, wins_needed
from . import progress
from ._rows import (
    bump_version,
    locked_tournament,
    locked_tournament_and_match,
    participants_data,
    result_change,
    save_and_refresh,
    score_of,
    tournament_of,
    write_scores,
)
from .live_scores import check_scores


def series_of(match: Match) -> Series:
    return Series(match.best_of, (match.participant1_wins, match.participant2_wins))


def side_of(match: Match, participant_id: int) -> int:
    """1 or 2: which side of `match` the participant plays."""
    if participant_id not in (match.participant1_id, match.participant2_id) or participant_id is None:
        raise Invalid(f"Participant {participant_id} does not play this match.", field="participant_id")
    return 1 if participant_id == match.participant1_id else 2


def participant_of(match: Match, side: int) -> int:
    return match.participant1_id if side == 1 else match.participant2_id


def last_game(match: Match) -> tuple[Game, int]:
    """The match's last completed game, and the side (1 or 2) that won it."""
    game = match.games.order_by("-number").first()
    return game, side_of(match, game.winner_id)


def winning_side(participant1_score: int, participant2_score: int) -> int:
    if participant1_score == participant2_score:
        raise Invalid("A game cannot end in a tie: every game of a bracket has a winner.", field="participant2_score")
    return 1 if participant1_score > participant2_score else 2


def start_match(*, match_id: int) -> Match:
    """Scheduled → live; held while a match feeding it is disputed (its winner may still change)."""
    with result_change():
        _, match = locked_tournament_and_match(match_id)
        if match.state != Match.State.SCHEDULED:
            raise Conflict(f"Only a scheduled match can start; this one is {match.state}.")
        if match.participant1_id is None or match.participant2_id is None:
            raise Conflict("Both participants must be known before the match starts.")
        if progress.has_disputed_feeder(match):
            raise Conflict("A match feeding this one is disputed; it can start once the dispute is resolved.")
        _check_nobody_busy(match, "start it")
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
            game=match.game,
        )
    return match


def _check_nobody_busy(match: Match, what: str) -> None:
    """Nobody plays two matches at once (a round robin's are all known from the start)."""
    busy = (
        Match.objects.filter(tournament_id=match.tournament_id, state=Match.State.LIVE)
        .exclude(pk=match.pk)
        .filter(Q(participant1_id__in=match.sides) | Q(participant2_id__in=match.sides))
        .first()
    )
    if busy is not None:
        raise Conflict(f"A participant of this match is playing another one ({busy}): {what} once that one ends.")


def complete_match(*, match_id: int, participant1_score: int, participant2_score: int) -> Match:
    """A one-game match's final score: its winner goes on; the final completes the tournament."""
    return complete_game(
        match_id=match_id, participant1_score=participant1_score, participant2_score=participant2_score,
        whole_match=True,
    )  # fmt: skip


def complete_game(
    *,
    match_id: int,
    participant1_score: int,
    participant2_score: int,
    game: int | None = None,
    whole_match: bool = False,
) -> Match:
    """End the current game with its final score. `game`: the game the caller means (a retry of a
    completion that went through is refused instead of ending the next game). `whole_match`: the
    caller completes a one-game match (POST .../complete/), refused for a longer series."""
    check_scores(participant1_score, participant2_score)
    with result_change():
        tournament, match = locked_tournament_and_match(match_id)
        if match.state != Match.State.LIVE:
            raise Conflict(f"Only a live match can be completed; this one is {match.state}.")
        if whole_match and match.best_of > 1:
            raise Conflict(
                f"This match is a best-of-{match.best_of} series: end each game with"
                f" POST /api/matches/{match.id}/games/complete/; the match completes when a side has"
                f" {wins_needed(match.best_of)} wins."
            )
        if game is not None and game != match.game:
            raise Conflict(f"Game {match.game} is being played, not game {game}.", field="game")
        side = winning_side(participant1_score, participant2_score)
        series = series_of(match).after_game(side)
        finished = match.game
        write_scores(match, participant1_score, participant2_score, closing=True)
        Game.objects.create(
            match=match,
            number=finished,
            participant1_score=participant1_score,
            participant2_score=participant2_score,
            winner_id=participant_of(match, side),
        )
        match.participant1_wins, match.participant2_wins = series.wins
        if series.over:
            match.state = Match.State.COMPLETED
            match.winner_id = participant_of(match, series.winner_side)
            match.completed_at = timezone.now()
        else:  # the next game starts at 0:0 (at the reserved version: newer than every live score)
            match.game = finished + 1
            match.participant1_score = match.participant2_score = 0
        bump_version(match)
        save_and_refresh(match)
        progress.announce_conclusion(
            match,
            score=(participant1_score, participant2_score, match.score_version),
            game=finished,
            game_winner_id=participant_of(match, side) if match.best_of > 1 else None,
        )
        if series.over:
            progress.settle(tournament, match)
    return match


def forfeit_match(*, match_id: int, participant_id: int) -> Match:
    """`participant_id` forfeits (a scheduled or live match): a walkover for the opponent."""
    with result_change():
        tournament, match = locked_tournament_and_match(match_id)
        if match.state not in (Match.State.SCHEDULED, Match.State.LIVE):
            raise Conflict(f"Only a scheduled or live match can be forfeited; this one is {match.state}.")
        side = side_of(match, participant_id)
        opponent = participant_of(match, 3 - side)
        if opponent is None:
            raise Conflict("The opponent is not known yet: disqualify the participant to forfeit their later matches.")
        progress.complete_walkover(match, winner_id=opponent, forfeited_by_id=participant_id)
        progress.settle(tournament, match)
    return match


def disqualify(*, participant_id: int) -> Participant:
    """The participant forfeits their current match (live or scheduled) and every later one."""
    with result_change():
        tournament = locked_tournament(tournament_of(Participant, participant_id))
        participant = Participant.objects.select_for_update(of=("self",)).get(pk=participant_id)
        if tournament.status != Tournament.Status.ONGOING:
            raise Conflict(
                f"Only a participant of an ongoing tournament can be disqualified; this one is {tournament.status}."
            )
        if participant.disqualified_at is not None:
            raise Conflict(f"{participant.name} is already disqualified.")
        theirs = Match.objects.filter(Q(participant1_id=participant_id) | Q(participant2_id=participant_id))
        if theirs.filter(state=Match.State.DISPUTED).exists():
            raise Conflict(f"A match of {participant.name} is disputed: resolve the dispute first.")
        if progress.would_leave_no_champion(tournament, also_disqualified=participant_id):
            raise Conflict(f"Disqualifying {participant.name} would leave nobody to win the final.")
        participant.disqualified_at = timezone.now()
        participant.save(update_fields=["disqualified_at"])
        for live in theirs.filter(state=Match.State.LIVE).select_for_update(of=("self",)):
            opponent = participant_of(live, 3 - side_of(live, participant_id))
            progress.complete_walkover(live, winner_id=opponent, forfeited_by_id=participant_id)
        progress.settle(tournament)
        broadcast.participants_updated(tournament_id=tournament.id, participants=participants_data(tournament.id))
    return participant


def reopen_match(*, match_id: int) -> Match:
    """A completed match back to live: its last game (or its walkover) undone, its winner (and loser)
    taken back out of the matches they went on to; refused once one of those has started."""
    with result_change():
        tournament, match = locked_tournament_and_match(match_id)
        if match.state != Match.State.COMPLETED:
            raise Conflict(f"Only a completed match can be reopened; this one is {match.state}.")
        for following in progress.next_matches(match):
            not_needed = following.state == Match.State.CANCELLED and following.reset_of_id == match.id
            if following.state != Match.State.SCHEDULED and not not_needed:
                raise Conflict(
                    f"The match its {'winner' if following.id == match.winner_to_id else 'loser'} went on to"
                    f" has started ({following.state}): this result can no longer be reopened."
                )
        # A disqualified participant plays no more: a match of theirs cannot be live again.
        gone = Participant.objects.filter(
            pk__in=(match.participant1_id, match.participant2_id), disqualified_at__isnull=False
        ).first()
        if gone is not None:
            raise Conflict(f"{gone.name} is disqualified: this result stands.")
        _check_nobody_busy(match, "reopen it")
        if match.forfeit:
            _undo_walkover(match)
        else:
            _undo_last_game(match)
        match.state = Match.State.LIVE
        match.winner_id = None
        match.completed_at = None
        match.started_at = match.started_at or timezone.now()
        write_scores(match, match.participant1_score, match.participant2_score)
        bump_version(match)
        save_and_refresh(match)
        broadcast.match_reopened(
            match_id=match.id,
            tournament_id=match.tournament_id,
            version=match.version,
            score=score_of(match),
            game=match.game,
            series=match.series,
            participant1_id=match.participant1_id,
            participant2_id=match.participant2_id,
        )
        progress.settle(tournament, match)
    return match


def _undo_walkover(match: Match) -> None:
    if match.forfeited_by_id is None:
        raise Conflict("Nobody came to play this match: its walkover stands.")
    match.forfeit = False
    match.forfeited_by_id = None


def _undo_last_game(match: Match) -> None:
    """The last game is live again, with its final score as the live score."""
    last, side = last_game(match)
    match.participant1_wins, match.participant2_wins = series_of(match).before_last_game(side).wins
    match.game = last.number
    match.participant1_score, match.participant2_score = last.participant1_score, last.participant2_score
    last.delete()
