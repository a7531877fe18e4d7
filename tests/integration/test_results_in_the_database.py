"""Random sequences of game completions, forfeits, disqualifications and reopenings through the
services, against the real database and Redis (hypothesis drives them). After every step, the
bracket the services wrote incrementally is what replaying its results on the bracket's plan gives
(tournaments/bracket.py, tournaments/results.py: an oracle that never reads the stored edges);
every series is consistent with its games; nothing waits for a walkover that is due; a refused step
changes nothing. At the end, playing on always finishes the tournament with one champion."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tournaments import bracket, errors, groups, results, services
from tournaments.models import Match, Participant, Tournament

pytestmark = pytest.mark.django_db(transaction=True)

ACTIONS = ("start", "game", "game", "game", "forfeit", "disqualify", "reopen")


def stored(tournament_id: int) -> tuple:
    """Everything a step may change: the matches, the games, who is disqualified, the tournament."""
    matches = tuple(
        Match.objects.filter(tournament_id=tournament_id).order_by("pk").values_list(
            "pk", "state", "participant1_id", "participant2_id", "winner_id", "participant1_wins",
            "participant2_wins", "game", "forfeit", "forfeited_by_id", "participant1_score", "participant2_score",
        )
    )  # fmt: skip
    games = tuple(
        Match.objects.filter(tournament_id=tournament_id).order_by("pk", "games__number").values_list(
            "pk", "games__number", "games__winner_id"
        )
    )  # fmt: skip
    disqualified = tuple(
        Participant.objects.filter(tournament_id=tournament_id, disqualified_at__isnull=False).values_list("pk")
    )
    tournament = Tournament.objects.values_list("status", "winner_id", "third_place_id").get(pk=tournament_id)
    return matches, games, disqualified, tournament


def planned_of(tournament: Tournament, players: int) -> list[bracket.PlannedMatch]:
    if tournament.format == Tournament.Format.ROUND_ROBIN:
        playoffs = (
            groups.Playoffs(tournament.playoff_format, tournament.advance_per_group)
            if tournament.playoff_format
            else None
        )
        return groups.plan(players, tournament.groups, playoffs, third_place=tournament.third_place_match,
                           bracket_reset=tournament.grand_final_reset)  # fmt: skip
    if tournament.format == Tournament.Format.DOUBLE_ELIMINATION:
        return bracket.double_elimination_plan(players, bracket_reset=tournament.grand_final_reset)
    return bracket.plan(players, third_place=tournament.third_place_match)


def expected_replay(tournament: Tournament) -> tuple[results.Replay, dict[int, Match], Match | None]:
    """The replay of the stored results on the format's plan, with plan number -> match, and the final
    (None for a round robin without playoffs). Playoff seeds come from the group tables, computed
    here from the stored group results."""
    participants = {p.seed: p.id for p in Participant.objects.filter(tournament=tournament)}
    matches = {(m.bracket, m.group, m.round, m.position): m for m in Match.objects.filter(tournament=tournament)}
    planned = planned_of(tournament, len(participants))
    match_of = {p.number: matches[(p.bracket, p.group, p.round, p.position)] for p in planned}
    decided = {}
    for number, match in match_of.items():
        if match.state == Match.State.COMPLETED:
            decided[number] = results.Outcome(match.winner_id, match.loser_id)
        elif match.state == Match.State.CANCELLED and match.reset_of_id is None:
            decided[number] = results.Outcome(None, None)
    disqualified = set(
        Participant.objects.filter(tournament=tournament, disqualified_at__isnull=False).values_list("pk", flat=True)
    )
    group_matches = [match_of[p.number] for p in planned if p.bracket == bracket.GROUP]
    seeding = None
    if tournament.playoff_format and all(m.state == Match.State.COMPLETED for m in group_matches):
        seed_of = {pid: seed for seed, pid in participants.items()}
        tables = []
        for group in sorted({m.group for m in group_matches}):
            mine = [m for m in group_matches if m.group == group]
            members = sorted({p for m in mine for p in (m.participant1_id, m.participant2_id)}, key=seed_of.get)
            table = groups.standings(members, [groups.Result(m.participant1_id, m.participant2_id, m.winner_id,
                                                             *m.series) for m in mine])  # fmt: skip
            tables.append(sorted((s.participant for s in table), key=lambda p: p in disqualified))
        seeding = groups.playoff_seeds(tables, tournament.advance_per_group)

    def seeded(p: bracket.PlannedMatch, seed: int | None):
        if not p.from_standings or seed is None:
            return participants.get(seed)
        return results.TBD if seeding is None else seeding[seed - 1]

    nodes = [
        results.Node(
            p.number,
            seeded=(seeded(p, p.seed1), seeded(p, p.seed2)),
            winner_to=p.winner_to,
            loser_to=p.loser_to,
            reset_of=p.reset_of,
        )  # fmt: skip
        for p in planned
    ]
    final = next((match_of[p.number] for p in planned if p.is_final), None)
    return results.replay(nodes, decided, disqualified), match_of, final


def check(tournament_id: int) -> None:
    tournament = Tournament.objects.get(pk=tournament_id)
    replay, match_of, final = expected_replay(tournament)
    for number, match in match_of.items():
        where = f"{match.bracket} round {match.round} position {match.position} ({match.state})"
        assert (match.participant1_id, match.participant2_id) == replay.participants(number), where
        # Nothing waits for a walkover (or a cancellation) that is due: the services applied it.
        assert number not in replay.walkovers, f"{where}: a walkover is due"
        needed = results.wins_needed(match.best_of)
        wins = (match.participant1_wins, match.participant2_wins)
        games = list(match.games.order_by("number"))
        assert [game.number for game in games] == list(range(1, len(games) + 1)), where
        won = tuple(
            sum(game.winner_id == side for game in games) for side in (match.participant1_id, match.participant2_id)
        )
        assert won == wins, f"{where}: the series {wins} is not its games {won}"
        if match.state == Match.State.COMPLETED and not match.forfeit:
            assert max(wins) == needed and min(wins) < needed, where
            assert match.winner_id == (match.participant1_id if wins[0] == needed else match.participant2_id), where
        elif match.state == Match.State.COMPLETED:
            assert match.winner_id in (match.participant1_id, match.participant2_id), where
            assert max(wins) < needed, where
        else:
            assert max(wins) < needed and match.winner_id is None, where
        if match.state == Match.State.LIVE:
            assert match.game == sum(wins) + 1, where
        if number in replay.not_needed:
            assert match.state == Match.State.CANCELLED, f"{where}: the reset is not needed"
    playing = Counter(p for m in match_of.values() if m.state == Match.State.LIVE for p in m.sides)
    assert all(count == 1 for count in playing.values()), f"somebody plays two matches at once: {playing}"
    third = Match.objects.filter(tournament=tournament, bracket=Match.Bracket.THIRD_PLACE).first()
    decided = (Match.State.COMPLETED, Match.State.CANCELLED)
    if final is None:  # one table: done once every match is
        done = all(m.state in decided for m in match_of.values())
    else:
        if final.state == Match.State.CANCELLED and final.reset_of_id is not None:
            final = Match.objects.get(pk=final.reset_of_id)
        done = final.state == Match.State.COMPLETED and (third is None or third.state in decided)
    assert (tournament.status == Tournament.Status.COMPLETED) == done
    if final is not None:
        assert tournament.winner_id == (final.winner_id if done else None)


def live_or_ready(tournament_id: int, *states: str) -> list[Match]:
    return list(Match.objects.filter(tournament_id=tournament_id, state__in=states).order_by("pk"))


def step(data, tournament_id: int, action: str) -> None:
    """One organizer's or referee's action on a match or participant the data picks."""
    if action == "start":
        ready = [m for m in live_or_ready(tournament_id, "scheduled") if m.participant1_id and m.participant2_id]
        if ready:
            services.start_match(match_id=data.draw(st.sampled_from(ready)).id)
    elif action == "game":
        live = live_or_ready(tournament_id, "live")
        if live:
            match = data.draw(st.sampled_from(live))
            side1_wins = data.draw(st.booleans())
            services.complete_game(match_id=match.id, participant1_score=13 if side1_wins else 7,
                                   participant2_score=7 if side1_wins else 13, game=match.game)  # fmt: skip
    elif action == "forfeit":
        playable = [m for m in live_or_ready(tournament_id, "live", "scheduled") if m.participant1_id]
        if playable:
            match = data.draw(st.sampled_from(playable))
            side = data.draw(st.sampled_from([match.participant1_id, match.participant2_id or match.participant1_id]))
            services.forfeit_match(match_id=match.id, participant_id=side)
    elif action == "disqualify":
        participant = data.draw(st.sampled_from(list(Participant.objects.filter(tournament_id=tournament_id))))
        services.disqualify(participant_id=participant.id)
    elif action == "reopen":
        completed = live_or_ready(tournament_id, "completed")
        if completed:
            services.reopen_match(match_id=data.draw(st.sampled_from(completed)).id)


def play_to_the_end(tournament_id: int) -> None:
    """Start what is ready, win every game for side 1, until nothing is left to play."""
    for _ in range(200):
        ready = [m for m in live_or_ready(tournament_id, "scheduled") if m.participant1_id and m.participant2_id]
        for match in ready:
            with contextlib.suppress(errors.Conflict):  # one of them plays another match of the round already
                services.start_match(match_id=match.id)
        live = live_or_ready(tournament_id, "live")
        if not live and not ready:
            return
        for match in live:
            services.complete_game(match_id=match.id, participant1_score=1, participant2_score=0, game=match.game)
        check(tournament_id)
    raise AssertionError("the tournament never finished")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    data=st.data(),
    players=st.integers(min_value=3, max_value=8),
    best_of=st.sampled_from([1, 3]),
    final_best_of=st.sampled_from([1, 3, 5]),
    options=st.booleans(),
    format=st.sampled_from(["single_elimination", "double_elimination", "round_robin", "groups_playoffs"]),
    actions=st.lists(st.sampled_from(ACTIONS), min_size=5, max_size=40),
)
def test_any_sequence_of_results_leaves_the_bracket_equal_to_the_replay_of_its_results(
    organizer, data, players, best_of, final_best_of, options, format, actions
):
    """`options`: a third-place match (single elimination), a grand final reset (double elimination),
    double-elimination playoffs (groups then playoffs)."""
    if format == "groups_playoffs":  # two groups of two or more
        players = max(players, 4)
        playoffs = groups.Playoffs("double_elimination" if options else "single_elimination", 1 + (players >= 6))
        kind = {"format": "round_robin", "groups": 2, "playoffs": playoffs}
    elif format == "round_robin":
        kind = {"format": "round_robin"}
    elif format == "double_elimination":
        kind = {"format": format, "grand_final_reset": options}
    else:
        kind = {"format": format, "third_place_match": options and players >= 4}
    tournament = services.create_tournament(
        name="Property Cup", game="Chess", organizer=organizer,
        participant_names=[f"P{seed}" for seed in range(1, players + 1)],
        best_of=best_of, final_best_of=final_best_of, **kind,
    )  # fmt: skip
    services.generate_bracket(tournament_id=tournament.id)
    check(tournament.id)
    for action in actions:
        before = stored(tournament.id)
        try:
            step(data, tournament.id, action)
        except errors.DomainError:
            assert stored(tournament.id) == before, f"a refused {action} changed something"
        check(tournament.id)
    play_to_the_end(tournament.id)
    finished = Tournament.objects.get(pk=tournament.id)
    assert finished.status == Tournament.Status.COMPLETED and finished.winner_id is not None
    assert not Participant.objects.get(pk=finished.winner_id).disqualified_at
    assert not live_or_ready(tournament.id, "scheduled", "live")


def test_a_sixteen_player_double_elimination_plays_to_a_champion_through_the_services(organizer):
    tournament = services.create_tournament(
        name="Double Cup",
        game="Chess",
        organizer=organizer,
        participant_names=[f"P{seed}" for seed in range(1, 17)],
        format=Tournament.Format.DOUBLE_ELIMINATION,
    )
    services.generate_bracket(tournament_id=tournament.id)
    brackets = Counter(Match.objects.filter(tournament=tournament).values_list("bracket", flat=True))
    assert brackets == {"main": 15, "lower": 14, "grand_final": 1}
    play_to_the_end(tournament.id)  # side 1 wins every game: the favourites, and the upper bracket's winner
    finished = Tournament.objects.get(pk=tournament.id)
    matches = list(Match.objects.filter(tournament=tournament))
    assert all(m.state == Match.State.COMPLETED for m in matches) and len(matches) == 30
    losses = Counter(m.loser_id for m in matches)
    grand_final = next(m for m in matches if m.bracket == "grand_final")
    assert finished.status == Tournament.Status.COMPLETED and finished.winner_id == grand_final.winner_id
    # Unbeaten, the upper bracket's winner is champion; everyone else went out on their second loss,
    # the runner-up (the lower bracket's winner) too.
    assert finished.winner_id not in losses and losses[grand_final.loser_id] == 2
    assert sorted(losses.values()) == [2] * 15
