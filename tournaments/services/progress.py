"""What results carry forward: the bracket kept equal to the replay of its results.

After every change of a result (a completion, a forfeit, a disqualification, a correction, a
reopening) `settle` replays the tournament's results (tournaments/results.py) and brings the
database to it: participants into (or out of) the matches they now play, walkovers completed,
matches nobody can play cancelled, and the tournament completed (or reopened) with its champion
and third place. Only scheduled matches change; a change that would reach a match already under
way is refused (409) and the transaction rolls back.

Runs inside the caller's transaction, with the tournament's row locked (every result change locks
it first: services/_rows.py), so two settles never interleave.
"""

from __future__ import annotations

from django.db.models import F, Q
from django.utils import timezone

from realtime import broadcast

from .. import results
from ..bracket import Edge
from ..errors import Conflict
from ..models import Match, Participant, Tournament
from ._rows import bracket_data, bump_version, save_and_refresh, score_of, write_scores

DECIDED = (Match.State.COMPLETED, Match.State.DISPUTED)


def edges_of(match: Match) -> tuple[Edge | None, Edge | None]:
    winner_to = Edge(match.winner_to_id, match.winner_to_slot) if match.winner_to_id else None
    loser_to = Edge(match.loser_to_id, match.loser_to_slot) if match.loser_to_id else None
    return winner_to, loser_to


def has_disputed_feeder(match: Match) -> bool:
    """A match whose winner or loser plays `match` is disputed: who plays it may still change."""
    feeds = Q(winner_to_id=match.id) | Q(loser_to_id=match.id)
    return Match.objects.filter(feeds, state=Match.State.DISPUTED).exists()


def next_matches(match: Match) -> list[Match]:
    """The matches `match`'s winner and loser play next, locked."""
    ids = [match_id for match_id in (match.winner_to_id, match.loser_to_id) if match_id]
    return list(Match.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))


def final_of(matches: list[Match]) -> Match:
    """The match whose winner is champion: the final, or double elimination's grand final."""
    finals = (Match.Bracket.MAIN, Match.Bracket.GRAND_FINAL)
    return next(m for m in matches if m.bracket in finals and m.winner_to_id is None)


def replay_of(matches: list[Match], disqualified: set[int]) -> results.Replay:
    edges = {match.id: edges_of(match) for match in matches}
    fed = {(edge.to, edge.slot) for pair in edges.values() for edge in pair if edge}
    nodes = [
        results.Node(
            match.id,
            seeded=(
                None if (match.id, 1) in fed else match.participant1_id,
                None if (match.id, 2) in fed else match.participant2_id,
            ),
            winner_to=edges[match.id][0],
            loser_to=edges[match.id][1],
        )
        for match in matches
    ]
    decided = {
        match.id: results.Outcome(match.winner_id, match.loser_id)
        for match in matches
        if match.state in DECIDED and match.winner_id is not None
    }
    decided |= {match.id: results.Outcome(None, None) for match in matches if match.state == Match.State.CANCELLED}
    by_id = {match.id: match for match in matches}
    held = {
        edge.to
        for match in matches
        if match.state == Match.State.DISPUTED
        for edge in edges[match.id]
        if edge is not None and edge.to in by_id
    }
    return results.replay(nodes, decided, disqualified, held)


def _disqualified(tournament: Tournament) -> set[int]:
    rows = Participant.objects.filter(tournament_id=tournament.id, disqualified_at__isnull=False)
    return set(rows.values_list("id", flat=True))


def would_leave_no_champion(tournament: Tournament, *, also_disqualified: int) -> bool:
    matches = list(Match.objects.filter(tournament_id=tournament.id).order_by("pk"))
    return replay_of(matches, _disqualified(tournament) | {also_disqualified}).cancelled(final_of(matches).id)


def settle(tournament: Tournament) -> None:
    """Bring the tournament's bracket to the replay of its results (see the module's docstring)."""
    matches = list(Match.objects.filter(tournament_id=tournament.id).order_by("pk"))
    replay = replay_of(matches, _disqualified(tournament))
    by_id = {match.id: match for match in matches}
    bracket_changed = False
    for match_id in replay.order:
        match = by_id[match_id]
        bracket_changed |= _seat(match, replay.participants(match.id))
        walkover = replay.walkovers.get(match.id)
        if walkover is not None and match.state == Match.State.SCHEDULED:
            if walkover.cancelled:
                _cancel(match)
                bracket_changed = True
            else:
                complete_walkover(match, winner_id=walkover.winner, forfeited_by_id=walkover.loser)
    if bracket_changed:
        broadcast.bracket_updated(tournament_id=tournament.id, matches=bracket_data(tournament.id))
    _settle_tournament(tournament, matches)  # the rows as seated, completed or cancelled above


def _seat(match: Match, participants: tuple[int | None, int | None]) -> bool:
    """Put the replay's participants into `match` (scheduled only); True if they changed."""
    current = (match.participant1_id, match.participant2_id)
    if current == participants:
        return False
    if match.state != Match.State.SCHEDULED:
        raise Conflict(f"The next match has already started ({match.state}); the bracket can no longer change.")
    # Only the changed columns are written (with the change counter), as the row is read again below.
    changes = {
        f"participant{slot}_id": new
        for slot, (old, new) in enumerate(zip(current, participants, strict=True), 1)
        if old != new
    }
    Match.objects.filter(pk=match.pk).update(**changes, version=F("version") + 1)
    match.refresh_from_db(fields=["participant1", "participant2", "version"])
    return True


def _cancel(match: Match) -> None:
    """Nobody can play the match (both sides disqualified or gone): it sends nobody on."""
    match.state = Match.State.CANCELLED
    bump_version(match)
    save_and_refresh(match, "state", "version")


def complete_walkover(match: Match, *, winner_id: int, forfeited_by_id: int | None) -> None:
    """Complete `match` (scheduled or live) for `winner_id` without playing it out; the score stays
    what it was (the live one, for a live match). `forfeited_by_id` None: the opponent never came."""
    # A live match's gate is shut until the walkover is published: the live score is then the last.
    reservation = write_scores(
        match, match.participant1_score, match.participant2_score, closing=match.state == Match.State.LIVE
    )
    if reservation.live is not None and match.state == Match.State.LIVE:  # Redis's is the latest
        match.participant1_score, match.participant2_score = reservation.live
    match.state = Match.State.COMPLETED
    match.winner_id = winner_id
    match.forfeit = True
    match.forfeited_by_id = forfeited_by_id
    match.completed_at = timezone.now()
    match.started_at = match.started_at or match.completed_at
    bump_version(match)
    save_and_refresh(match)
    announce_conclusion(match, score=score_of(match), game=match.game)


def announce_conclusion(
    match: Match, *, score: tuple[int, int, int], game: int, game_winner_id: int | None = None
) -> None:
    """Publish, after commit, that game `game` of `match` ended with `score` (`game_winner_id`: a
    series's game) and/or, if the saved match has a winner, that the match did."""
    broadcast.concluded(
        match_id=match.id,
        tournament_id=match.tournament_id,
        version=match.version,
        score=score,
        game=game,
        series=match.series,
        game_winner_id=game_winner_id,
        match_winner_id=match.winner_id,
        forfeit=match.forfeit,
        forfeited_by_id=match.forfeited_by_id,
    )


def _settle_tournament(tournament: Tournament, matches: list[Match]) -> None:
    """Completed once the final (and the third-place match, if any) is decided; ongoing otherwise."""
    final = final_of(matches)
    third = next((m for m in matches if m.bracket == Match.Bracket.THIRD_PLACE), None)

    def decided(match: Match) -> bool:
        return match.state == Match.State.CANCELLED or (match.winner_id is not None and match.state in DECIDED)

    done = final.winner_id is not None and decided(final) and (third is None or decided(third))
    third_place_id = third.winner_id if third is not None and third.state != Match.State.CANCELLED else None
    if done:
        if (tournament.status, tournament.winner_id, tournament.third_place_id) == (
            Tournament.Status.COMPLETED, final.winner_id, third_place_id,
        ):  # fmt: skip
            return
        tournament.status = Tournament.Status.COMPLETED
        tournament.winner_id = final.winner_id
        tournament.third_place_id = third_place_id
        tournament.completed_at = tournament.completed_at or timezone.now()
        tournament.save(update_fields=["status", "winner", "third_place", "completed_at"])
        broadcast.tournament_completed(
            tournament_id=tournament.id,
            winner_id=final.winner_id,
            runner_up_id=final.loser_id,
            third_place_id=third_place_id,
        )
    elif tournament.status == Tournament.Status.COMPLETED:
        tournament.status = Tournament.Status.ONGOING
        tournament.winner_id = tournament.third_place_id = tournament.completed_at = None
        tournament.save(update_fields=["status", "winner", "third_place", "completed_at"])
        broadcast.tournament_reopened(tournament_id=tournament.id)
