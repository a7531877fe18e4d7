"""Double elimination's plan (tournaments/bracket.py) played through the replay (tournaments/results.py):
pure logic, every size from 2 to 256, random results in a random order."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tournaments import bracket, results
from tournaments.results import Node, Outcome


def nodes_of(planned: list[bracket.PlannedMatch]) -> list[Node]:
    return [Node(m.number, (m.seed1, m.seed2), m.winner_to, m.loser_to, m.reset_of) for m in planned]


@pytest.mark.parametrize("n", range(2, 257))
def test_every_side_is_filled_once_and_there_are_two_n_minus_two_matches(n):
    planned = bracket.double_elimination_plan(n, bracket_reset=n % 2 == 0)
    assert len(planned) == 2 * n - 2 + (n % 2 == 0)
    assert [m.number for m in planned] == list(range(len(planned)))
    filled = Counter((e.to, e.slot) for m in planned for e in (m.winner_to, m.loser_to) if e)
    for m in planned:
        for slot, seed in ((1, m.seed1), (2, m.seed2)):
            assert filled[(m.number, slot)] + (seed is not None) == 1, (m, slot)
        for edge in (m.winner_to, m.loser_to):
            assert edge is None or edge.to > m.number  # play order: every match after its feeders
    assert sorted(s for m in planned for s in (m.seed1, m.seed2) if s is not None) == list(range(1, n + 1))
    finals = [m for m in planned if m.is_final]
    assert [m.bracket for m in finals] == [bracket.GRAND_FINAL] and finals[0] is planned[-1]
    assert all(m.loser_to is None for m in planned if m.bracket == bracket.LOWER)  # losing there ends it
    resets = [m.reset_of for m in planned if m.reset_of is not None]
    assert resets == ([planned[-2].number] if n % 2 == 0 else [])


def play_out(n: int, rng: random.Random, reset: bool) -> tuple[list[bracket.PlannedMatch], dict, list, Outcome]:
    """Every match played, one at a time in a random order among those ready, with random winners.
    Returns the plan, the outcomes of the matches played, for each step the participants of the
    matches then ready, and the final's outcome."""
    planned = bracket.double_elimination_plan(n, bracket_reset=reset)
    nodes, decided, ready_at_each_step = nodes_of(planned), {}, []
    while True:
        replay = results.replay(nodes, decided)
        ready = [
            node
            for node, sides in replay.sides.items()
            if node not in replay.outcomes and all(isinstance(s, int) for s in sides)
        ]
        ready_at_each_step.append([side for node in ready for side in replay.sides[node]])
        if not ready:
            assert len(replay.outcomes) == len(planned), "a match waits for ever"
            assert set(replay.not_needed) <= {m.number for m in planned if m.reset_of is not None}
            return planned, decided, ready_at_each_step, replay.outcomes[planned[-1].number]
        node = rng.choice(ready)
        side1, side2 = replay.sides[node]
        decided[node] = Outcome(side1, side2) if rng.random() < 0.5 else Outcome(side2, side1)


@given(st.integers(min_value=2, max_value=96), st.booleans(), st.randoms(use_true_random=False))
def test_everyone_plays_until_their_second_loss_and_there_is_one_champion(n, reset, rng):
    planned, outcomes, ready_at_each_step, final = play_out(n, rng, reset)
    champion, runner_up = final.winner, final.loser
    losses, played = Counter(), Counter()
    for number in sorted(outcomes):  # play order
        outcome = outcomes[number]
        assert losses[outcome.winner] < 2 and losses[outcome.loser] < 2, "someone played after their second loss"
        losses[outcome.loser] += 1
        played.update([outcome.winner, outcome.loser])
    assert set(played) == set(range(1, n + 1)) and min(played.values()) >= 2
    assert losses[champion] <= 1
    for participant in range(1, n + 1):
        if participant not in (champion, runner_up):
            assert losses[participant] == 2, f"participant {participant} out with {losses[participant]} loss(es)"
    # Without a reset the upper bracket's winner is out after losing the one grand final; with it,
    # nobody is: the runner-up has lost twice.
    assert losses[runner_up] == 2 if reset else losses[runner_up] in (1, 2)
    for ready in ready_at_each_step:  # nobody is in two matches at once
        assert len(ready) == len(set(ready))


def test_a_bracket_reset_is_played_only_when_the_lower_brackets_winner_wins_the_grand_final():
    planned = bracket.double_elimination_plan(4, bracket_reset=True)
    nodes = nodes_of(planned)
    grand_final, reset = planned[-2], planned[-1]
    for upper_wins in (True, False):
        decided = {}
        for m in planned[:-2]:  # the better seed wins everything before the grand final
            sides = results.replay(nodes, decided).sides[m.number]
            decided[m.number] = Outcome(min(sides), max(sides))
        upper, lower = results.replay(nodes, decided).sides[grand_final.number]
        decided[grand_final.number] = Outcome(upper, lower) if upper_wins else Outcome(lower, upper)
        replay = results.replay(nodes, decided)
        if upper_wins:
            assert replay.not_needed == {reset.number: Outcome(upper, lower)}
            assert replay.outcomes[reset.number].winner == upper
        else:
            assert reset.number not in replay.outcomes and replay.sides[reset.number] == (upper, lower)


def test_the_losers_of_the_second_upper_round_drop_in_reversed_order():
    """With eight participants and the favourites winning, no lower-bracket match of round 2 is a
    rematch of an upper-bracket match just played."""
    planned = bracket.double_elimination_plan(8)
    nodes, decided = nodes_of(planned), {}
    for _ in range(len(planned)):
        replay = results.replay(nodes, decided)
        for node, sides in replay.sides.items():
            if node not in decided and all(isinstance(s, int) for s in sides):
                decided[node] = Outcome(min(sides), max(sides))  # the better seed wins
    replay = results.replay(nodes, decided)
    met_in_upper = {frozenset(replay.sides[m.number]) for m in planned if m.bracket == bracket.MAIN}
    lower_round_2 = [frozenset(replay.sides[m.number]) for m in planned if m.bracket == bracket.LOWER and m.round == 2]
    assert len(lower_round_2) == 2 and not met_in_upper & set(lower_round_2)
