"""What results carry forward: the bracket kept equal to the replay of its results.

After every change of a result (a completion, a forfeit, a disqualification, a correction, a
reopening) `settle` replays the tournament's results (tournaments/results.py) and brings the
database to it: participants into (or out of) the matches they now play, walkovers completed,
matches nobody can play cancelled, and the tournament completed (or reopened) with its champion
and third place. Only scheduled matches change; a change that would reach a match already under
way is refused (409) and the transaction rolls back.

Round robin: group matches have no edges; a group's standings come from its decided matches
(tournaments/groups.py). Playoff matches' first sides are playoff seeds: once every group match is
decided (and none disputed) the replay fills them from the standings, and empties them again if a
group result is reopened (refused, like any change, once a playoff match they reach has started).

Runs inside the caller's transaction, with the tournament's row locked (every result change locks
it first: services/_rows.py), so two settles never interleave.
"""

from __future__ import annotations

from django.db.models import F, Q
from django.utils import timezone

from realtime import broadcast

from .. import groups, results, selectors
from ..bracket import Edge
from ..errors import Conflict
from ..models import Match, Participant, Tournament
from ._rows import bracket_data, bump_version, save_and_refresh, score_of, write_scores

DECIDED = selectors.DECIDED


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


def final_of(matches: list[Match]) -> Match | None:
    """The match whose winner is champion: the final, or double elimination's grand final (its
    reset, if it has one). None for a round robin without playoffs: the table decides."""
    finals = (Match.Bracket.MAIN, Match.Bracket.GRAND_FINAL)
    return next((m for m in matches if m.bracket in finals and m.winner_to_id is None), None)


def _playoff_seeding(
    matches: list[Match], replayed: results.Replay, disqualified: set[int], advance: int
) -> list[int] | None:
    """The playoffs' participants by playoff seed, once every group match is decided and none is
    disputed; None before. Disqualified participants are placed after everyone else of their group."""
    group_matches = [m for m in matches if m.bracket == Match.Bracket.GROUP]
    if any(m.state == Match.State.DISPUTED for m in group_matches):
        return None
    if any(m.id not in replayed.outcomes for m in group_matches):
        return None
    return groups.playoff_seeds(_places(matches, disqualified, replayed.outcomes), advance)


def _places(
    matches: list[Match], disqualified: set[int], outcomes: dict[int, results.Outcome] | None = None
) -> list[list[int]]:
    """Each group's participants, first place first, the disqualified after everyone else (a stable
    sort: the standings' order among those still playing)."""
    seed_of = selectors.seeds_of(matches[0].tournament_id)
    tables = selectors.group_tables(matches, selectors.group_results(matches, outcomes), seed_of)
    return [sorted((s.participant for s in table), key=lambda p: p in disqualified) for table in tables.values()]


def replay_of(matches: list[Match], disqualified: set[int], advance: int | None = None) -> results.Replay:
    """The replay of the matches' results. `advance`: how many of each group go to the playoffs."""
    edges = {match.id: edges_of(match) for match in matches}
    fed = {(edge.to, edge.slot) for pair in edges.values() for edge in pair if edge}

    def nodes(seeding: list[int] | None) -> list[results.Node]:
        def side(match: Match, slot: int):
            if (match.id, slot) in fed:
                return None
            playoff_seed = match.seed1 if slot == 1 else match.seed2
            if playoff_seed is not None:  # filled from the group standings
                return results.TBD if seeding is None else seeding[playoff_seed - 1]
            return match.participant1_id if slot == 1 else match.participant2_id

        return [
            results.Node(
                match.id,
                seeded=(side(match, 1), side(match, 2)),
                winner_to=edges[match.id][0],
                loser_to=edges[match.id][1],
                reset_of=match.reset_of_id,
            )  # fmt: skip
            for match in matches
        ]

    decided = {
        match.id: results.Outcome(match.winner_id, match.loser_id)
        for match in matches
        if match.state in DECIDED and match.winner_id is not None
    }
    decided |= {  # a bracket reset's cancellation ("not needed") is the replay's to decide again
        match.id: results.Outcome(None, None)
        for match in matches
        if match.state == Match.State.CANCELLED and match.reset_of_id is None
    }
    by_id = {match.id: match for match in matches}
    held = {
        edge.to
        for match in matches
        if match.state == Match.State.DISPUTED
        for edge in edges[match.id]
        if edge is not None and edge.to in by_id
    }
    replayed = results.replay(nodes(None), decided, disqualified, held)
    if advance is None or not any(m.seed1 is not None or m.seed2 is not None for m in matches):
        return replayed
    seeding = _playoff_seeding(matches, replayed, disqualified, advance)
    return replayed if seeding is None else results.replay(nodes(seeding), decided, disqualified, held)


def _disqualified(tournament: Tournament) -> set[int]:
    rows = Participant.objects.filter(tournament_id=tournament.id, disqualified_at__isnull=False)
    return set(rows.values_list("id", flat=True))


def would_leave_no_champion(tournament: Tournament, *, also_disqualified: int) -> bool:
    matches = list(Match.objects.filter(tournament_id=tournament.id).order_by("pk"))
    disqualified = _disqualified(tournament) | {also_disqualified}
    final = final_of(matches)
    if final is None:  # a round robin's table: its first is champion unless everybody is disqualified
        return not Participant.objects.filter(tournament_id=tournament.id).exclude(pk__in=disqualified).exists()
    return replay_of(matches, disqualified, tournament.advance_per_group).cancelled(final.id)


def settle(tournament: Tournament, changed: Match | None = None) -> None:
    """Bring the tournament's bracket to the replay of its results (see the module's docstring).

    `changed`: the match whose result changed (None: a disqualification). A round robin's standings
    are published after it when it is a group match."""
    matches = list(Match.objects.filter(tournament_id=tournament.id).order_by("pk"))
    replay = replay_of(matches, _disqualified(tournament), tournament.advance_per_group)
    by_id = {match.id: match for match in matches}
    bracket_changed = False
    for match_id in replay.order:
        match = by_id[match_id]
        if match.id in replay.not_needed:  # who would have played it stay on it
            if match.state == Match.State.SCHEDULED:
                _seat(match, replay.participants(match.id))
                _cancel(match)
                bracket_changed = True
            continue
        if match.state == Match.State.CANCELLED and match.reset_of_id is not None:
            _schedule_again(match)  # its grand final was reopened: the reset may be needed after all
            bracket_changed = True
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
    if tournament.format == Tournament.Format.ROUND_ROBIN and (
        changed is None or changed.bracket == Match.Bracket.GROUP
    ):
        broadcast.standings_updated(tournament_id=tournament.id, groups=selectors.standings_data(tournament.id))
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


def _schedule_again(match: Match) -> None:
    match.state = Match.State.SCHEDULED
    bump_version(match)
    save_and_refresh(match, "state", "version")


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


def _decided(match: Match) -> bool:
    return match.state == Match.State.CANCELLED or (match.winner_id is not None and match.state in DECIDED)


def _podium(matches: list[Match], disqualified: set[int]) -> tuple[int, int | None, int | None] | None:
    """(champion, runner-up, third) once the tournament is decided; None while it is not."""
    final = final_of(matches)
    if final is not None and final.state == Match.State.CANCELLED and final.reset_of_id is not None:
        final = next(m for m in matches if m.id == final.reset_of_id)  # the reset was not needed
    if final is None:  # a round robin's one table
        if any(m.state not in (Match.State.COMPLETED, Match.State.CANCELLED) for m in matches):
            return None
        (places,) = _places(matches, disqualified)
        places += [None, None]
        return places[0], places[1], places[2]
    third = next((m for m in matches if m.bracket == Match.Bracket.THIRD_PLACE), None)
    if not (final.winner_id is not None and _decided(final) and (third is None or _decided(third))):
        return None
    third_place_id = third.winner_id if third is not None and third.state != Match.State.CANCELLED else None
    return final.winner_id, final.loser_id, third_place_id


def _settle_tournament(tournament: Tournament, matches: list[Match]) -> None:
    """Completed once the final (and the third-place match, if any) is decided, or, in a round robin
    without playoffs, once every match is decided and none disputed; ongoing otherwise."""
    podium = _podium(matches, _disqualified(tournament))
    if podium is not None:
        winner_id, runner_up_id, third_place_id = podium
        if (tournament.status, tournament.winner_id, tournament.third_place_id) == (
            Tournament.Status.COMPLETED, winner_id, third_place_id,
        ):  # fmt: skip
            return
        tournament.status = Tournament.Status.COMPLETED
        tournament.winner_id = winner_id
        tournament.third_place_id = third_place_id
        tournament.completed_at = tournament.completed_at or timezone.now()
        tournament.save(update_fields=["status", "winner", "third_place", "completed_at"])
        broadcast.tournament_completed(
            tournament_id=tournament.id, winner_id=winner_id, runner_up_id=runner_up_id, third_place_id=third_place_id
        )
    elif tournament.status == Tournament.Status.COMPLETED:
        tournament.status = Tournament.Status.ONGOING
        tournament.winner_id = tournament.third_place_id = tournament.completed_at = None
        tournament.save(update_fields=["status", "winner", "third_place", "completed_at"])
        broadcast.tournament_reopened(tournament_id=tournament.id)
