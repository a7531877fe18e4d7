"""What results make of a bracket: series, walkovers, disqualifications, reopening (pure logic,
property-based: random series, random results in random order, random disqualifications)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tournaments import bracket, results
from tournaments.results import EMPTY, TBD, Node, Outcome, Series

best_of = st.sampled_from([1, 3, 5, 7, 9])


@given(best_of, st.lists(st.sampled_from([1, 2]), min_size=9, max_size=9))
def test_a_series_ends_exactly_when_a_side_has_the_wins_it_needs(n, winners):
    series = Series(n)
    needed = n // 2 + 1
    for played, winner in enumerate(winners, start=1):
        series = series.after_game(winner)
        assert series.over == (max(series.wins) == needed)
        assert max(series.wins) <= needed and series.games_played == played
        if series.over:
            break
    assert series.over, "nine games always decide a best-of-nine or shorter"
    assert series.games_played <= n
    assert series.winner_side == (1 if series.wins[0] == needed else 2)
    with pytest.raises(ValueError):
        series.after_game(1)
    assert series.before_last_game(winners[series.games_played - 1]).over is False


@pytest.mark.parametrize("value", [0, 2, 4, 10, -1, True, 3.0])
def test_best_of_is_odd_from_one_to_nine(value):
    with pytest.raises(ValueError):
        results.check_best_of(value)


def nodes_of(n: int, third_place: bool) -> tuple[list[Node], dict[int, bracket.PlannedMatch]]:
    planned = bracket.plan(n, third_place=third_place)
    nodes = [Node(m.number, (m.seed1, m.seed2), m.winner_to, m.loser_to) for m in planned]
    return nodes, {m.number: m for m in planned}


def playable(replay: results.Replay, decided: dict, disqualified: set) -> list[int]:
    return [
        node
        for node, sides in replay.sides.items()
        if node not in replay.outcomes
        and all(isinstance(side, int) and side not in disqualified for side in sides)
        and node not in decided
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=2, max_value=40),
    st.booleans(),
    st.randoms(use_true_random=False),
    st.floats(min_value=0, max_value=0.3),
    st.floats(min_value=0, max_value=0.3),
)
def test_any_sequence_of_results_disqualifications_and_reopenings_ends_with_one_champion(
    n, third_place, rng: random.Random, disqualify_rate, reopen_rate
):
    """Play a bracket the way an event goes: matches decided in any order, participants disqualified
    at any time, results reopened while the matches they feed have not started; check after every
    step that nobody is in two undecided matches, that a disqualified participant never plays, and
    at the end that every match is decided and there is exactly one champion."""
    third_place = third_place and n >= 4
    nodes, planned = nodes_of(n, third_place)
    decided: dict[int, Outcome] = {}
    disqualified: set[int] = set()
    for _ in range(20 * n):
        replay = results.replay(nodes, decided, disqualified)
        _check_nobody_plays_twice_at_once(replay, disqualified)
        ready = playable(replay, decided, disqualified)
        if not ready:
            break
        roll = rng.random()
        if roll < disqualify_rate:
            # as the service does: refused if it would leave nobody to win the final
            candidate = rng.choice([p for p in range(1, n + 1) if p not in disqualified])
            final = next(m.number for m in planned.values() if m.is_final)
            if not results.replay(nodes, decided, disqualified | {candidate}).cancelled(final):
                disqualified.add(candidate)
        elif roll < disqualify_rate + reopen_rate and decided:
            # a result whose winner and loser have not played (or been handed) their next match yet
            # may be reopened
            reopenable = [
                node
                for node, outcome in decided.items()
                if all(
                    edge is None or edge.to not in replay.outcomes
                    for edge in (planned[node].winner_to, planned[node].loser_to)
                )
                and outcome.loser not in disqualified
            ]
            if reopenable:
                del decided[rng.choice(reopenable)]
        else:
            node = rng.choice(ready)
            a, b = replay.sides[node]
            decided[node] = Outcome(a, b) if rng.random() < 0.5 else Outcome(b, a)
    replay = results.replay(nodes, decided, disqualified)
    assert set(replay.outcomes) == set(planned), "a match is left waiting forever"
    final = next(m.number for m in planned.values() if m.is_final)
    champion = replay.outcomes[final].winner
    assert isinstance(champion, int)
    assert champion not in disqualified or _won_before_being_disqualified(champion, decided, final)
    for outcome in replay.walkovers.values():
        assert outcome.cancelled or outcome.winner not in disqualified


def _won_before_being_disqualified(champion: int, decided: dict, final: int) -> bool:
    return final in decided and decided[final].winner == champion


def _check_nobody_plays_twice_at_once(replay: results.Replay, disqualified: set) -> None:
    undecided = [node for node in replay.sides if node not in replay.outcomes]
    seated = [side for node in undecided for side in replay.sides[node] if isinstance(side, int)]
    assert len(seated) == len(set(seated)), "a participant is in two undecided matches"


@given(st.integers(min_value=2, max_value=64), st.booleans(), st.randoms(use_true_random=False))
def test_the_replay_does_not_depend_on_the_order_results_came_in(n, third_place, rng: random.Random):
    third_place = third_place and n >= 4
    nodes, planned = nodes_of(n, third_place)
    decided: dict[int, Outcome] = {}
    while True:
        replay = results.replay(nodes, decided)
        ready = playable(replay, decided, set())
        if not ready:
            break
        node = rng.choice(ready)
        a, b = replay.sides[node]
        decided[node] = Outcome(a, b) if rng.random() < 0.5 else Outcome(b, a)
    shuffled = list(decided.items())
    rng.shuffle(shuffled)
    assert results.replay(nodes, dict(shuffled)).sides == results.replay(nodes, decided).sides


def test_a_disqualified_participant_waiting_for_an_opponent_hands_them_a_walkover():
    nodes, planned = nodes_of(4, third_place=False)  # semis 0 (1 v 4), 1 (2 v 3); final 2
    decided = {0: Outcome(1, 4)}
    replay = results.replay(nodes, decided, disqualified={1})
    assert replay.sides[2] == (1, TBD)  # the final waits for its other side
    assert 2 not in replay.walkovers
    decided[1] = Outcome(3, 2)
    replay = results.replay(nodes, decided, disqualified={1})
    assert replay.walkovers[2] == Outcome(3, 1)


def test_a_third_place_match_between_two_disqualified_losers_is_cancelled():
    nodes, planned = nodes_of(4, third_place=True)  # third-place match 3
    replay = results.replay(nodes, {0: Outcome(1, 4), 1: Outcome(2, 3)}, disqualified={3, 4})
    assert replay.walkovers[3].cancelled
    assert replay.sides[3] == (4, 3)


def test_a_held_match_waits_for_its_dispute():
    nodes, planned = nodes_of(4, third_place=False)
    decided = {0: Outcome(1, 4), 1: Outcome(2, 3)}
    assert 2 not in results.replay(nodes, decided, disqualified={2}, held={2}).walkovers
    assert results.replay(nodes, decided, disqualified={2}).walkovers[2] == Outcome(1, 2)


def test_a_cancelled_match_sends_nobody_on():
    nodes = [Node(0, (1, 2), winner_to=bracket.Edge(1, 1)), Node(1, (None, 3))]
    replay = results.replay(nodes, {0: Outcome(None, None)})
    assert replay.sides[1] == (EMPTY, 3)
    assert replay.walkovers[1] == Outcome(3, None)
