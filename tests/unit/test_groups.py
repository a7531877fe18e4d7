"""Round-robin groups (tournaments/groups.py): pure logic, property-based."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tournaments import bracket, groups
from tournaments.groups import Result


@given(st.integers(min_value=2, max_value=32))
def test_every_pair_meets_once_and_nobody_plays_twice_in_a_round(n):
    members = list(range(101, 101 + n))
    rounds = groups.round_robin(members)
    assert len(rounds) == (n - 1 if n % 2 == 0 else n)
    pairs = [frozenset(pair) for round_ in rounds for pair in round_]
    assert Counter(pairs) == Counter(frozenset(pair) for pair in itertools.combinations(members, 2))
    for round_ in rounds:
        playing = [member for pair in round_ for member in pair]
        assert len(playing) == len(set(playing)) and len(round_) == n // 2
    first = Counter(pair[0] for round_ in rounds for pair in round_)
    assert all(abs(2 * first[m] - (n - 1)) <= 2 for m in members), "someone is first far more often than not"


@given(st.integers(min_value=2, max_value=256), st.integers(min_value=1, max_value=64))
def test_snake_seeding_keeps_the_best_seeds_apart_and_the_groups_even(n, count):
    seeds = list(range(1, n + 1))
    if n < 2 * count:
        with pytest.raises(ValueError):
            groups.split_into_groups(seeds, count)
        return
    dealt = groups.split_into_groups(seeds, count)
    assert sorted(s for group in dealt for s in group) == seeds
    assert max(map(len, dealt)) - min(map(len, dealt)) <= 1 and min(map(len, dealt)) >= 2
    assert sorted(group[0] for group in dealt) == list(range(1, count + 1))


def random_results(members: list[int], rng: random.Random, share: float) -> list[Result]:
    decided = []
    for a, b in itertools.combinations(members, 2):
        if rng.random() < share:
            winner = rng.choice([a, b])
            loser_games = rng.randint(0, 1)
            decided.append(Result(a, b, winner, 2 if winner == a else loser_games, 2 if winner == b else loser_games))
    return decided


@given(st.integers(min_value=2, max_value=12), st.floats(min_value=0, max_value=1), st.randoms(use_true_random=False))
def test_standings_are_a_total_order_by_wins_then_head_to_head_then_games_then_seed(n, share, rng):
    members = list(range(1, n + 1))
    decided = random_results(members, rng, share)
    table = groups.standings(members, decided)
    assert sorted(s.participant for s in table) == members
    assert [s.wins for s in table] == sorted((s.wins for s in table), reverse=True)
    assert sum(s.wins for s in table) == len(decided) and sum(s.losses for s in table) == len(decided)
    shuffled = decided[:]
    rng.shuffle(shuffled)
    assert groups.standings(members, shuffled) == table  # the order results came in changes nothing
    for a, b in itertools.combinations(table, 2):  # a is above b
        if a.wins != b.wins:
            continue
        tied = [s.participant for s in table if s.wins == a.wins]
        if len(tied) == 2:
            between = [r for r in decided if {r.participant1, r.participant2} == set(tied)]
            if between:
                assert between[0].winner == a.participant, "the head-to-head winner comes first"
            elif a.game_difference != b.game_difference:
                assert a.game_difference > b.game_difference
            else:
                assert a.participant < b.participant  # the better seed


def test_three_tied_on_wins_are_ordered_by_their_matches_against_each_other():
    # 1 beat 2, 2 beat 3, 3 beat 1 (a cycle: one win each among them), all 2-0 except 3's 2-1 over 1;
    # each also beat 4. Among the three, game difference decides: 1: +2-1=+1, 2: -2+2=0, 3: -2+1=-1.
    decided = [
        Result(1, 2, 1, 2, 0), Result(2, 3, 2, 2, 0), Result(3, 1, 3, 2, 1),
        Result(1, 4, 1, 2, 0), Result(2, 4, 2, 2, 0), Result(3, 4, 3, 2, 0),
    ]  # fmt: skip
    assert [s.participant for s in groups.standings([1, 2, 3, 4], decided)] == [1, 2, 3, 4]
    assert [s.participant for s in groups.standings([3, 2, 1, 4], decided)] == [1, 2, 3, 4]  # seeds do not decide


def first_meeting_round(seed_a: int, seed_b: int, size: int) -> int:
    slot = {seed: index for index, seed in enumerate(bracket.seeding_order(size))}
    return (slot[seed_a] ^ slot[seed_b]).bit_length()


@given(st.integers(min_value=2, max_value=16), st.integers(min_value=1, max_value=8))
def test_group_winners_take_the_top_seeds_and_group_mates_meet_as_late_as_possible(count, advance):
    tables = [[100 * group + place for place in range(1, advance + 2)] for group in range(1, count + 1)]
    seeds = groups.playoff_seeds(tables, advance)
    assert sorted(seeds) == sorted(p for table in tables for p in table[:advance])
    assert seeds[:count] == [table[0] for table in tables]
    size = bracket.bracket_size(len(seeds))
    rounds = bracket.round_count(len(seeds))
    seed_of = {participant: index + 1 for index, participant in enumerate(seeds)}
    for table in tables:
        if advance >= 2:  # a group's first two meet only in the final
            assert first_meeting_round(seed_of[table[0]], seed_of[table[1]], size) == rounds
        mates = [seed_of[p] for p in table[:advance]]
        for a, b in itertools.combinations(mates, 2):  # and no group mates meet in the first round
            assert first_meeting_round(a, b, size) > 1


def test_playoffs_cannot_take_more_than_a_group_holds():
    with pytest.raises(ValueError):
        groups.playoff_seeds([[1, 2, 3], [4, 5]], 3)


@st.composite
def group_stages(draw):
    """A size from 2 to 256 and a number of groups it allows (groups of 2 to 32), maybe with playoffs."""
    n = draw(st.integers(min_value=2, max_value=256))
    count = draw(st.integers(min_value=-(-n // groups.MAX_GROUP_SIZE), max_value=n // 2))
    playoffs = None
    if count > 1 or draw(st.booleans()):
        advance = draw(st.integers(min_value=1 if count > 1 else 2, max_value=min(4, n // count)))
        playoffs = groups.Playoffs(
            draw(st.sampled_from([groups.SINGLE_ELIMINATION, groups.DOUBLE_ELIMINATION])), advance
        )
    return n, count, playoffs


@given(group_stages())
def test_a_group_stage_plays_every_pair_of_each_group_once_then_its_playoffs(stage):
    n, count, playoffs = stage
    planned = groups.plan(n, count, playoffs)
    group_matches = [m for m in planned if m.bracket == bracket.GROUP]
    members = groups.split_into_groups(range(1, n + 1), count)
    assert Counter(m.group for m in group_matches) == {
        g + 1: len(ms) * (len(ms) - 1) // 2 for g, ms in enumerate(members)
    }
    for g, ms in enumerate(members, start=1):
        mine = [m for m in group_matches if m.group == g]
        assert {frozenset((m.seed1, m.seed2)) for m in mine} == {frozenset(p) for p in itertools.combinations(ms, 2)}
        for round_number in {m.round for m in mine}:
            sides = [s for m in mine if m.round == round_number for s in (m.seed1, m.seed2)]
            assert len(sides) == len(set(sides)), "somebody plays twice in a round"
    playoff = [m for m in planned if m.from_standings]
    assert all(m.number > max(g.number for g in group_matches) for m in playoff)
    if playoffs is None:
        assert not playoff
        return
    seeds = sorted(s for m in playoff for s in (m.seed1, m.seed2) if s is not None)
    assert seeds == list(range(1, count * playoffs.advance_per_group + 1)), "every playoff seed has one place"
    assert all(e.to >= len(group_matches) for m in playoff for e in (m.winner_to, m.loser_to) if e), (
        "edges stay in the playoffs"
    )


@pytest.mark.parametrize(
    ("n", "count", "playoffs", "rule"),
    [
        (7, 4, groups.Playoffs("single_elimination", 1), "need at least 8 participants"),
        (40, 1, None, "at most 32 participants"),
        (8, 2, None, "need playoffs"),
        (8, 2, groups.Playoffs("single_elimination", 5), "can advance 1 to 4"),
        (8, 1, groups.Playoffs("single_elimination", 1), "at least 2"),
        (8, 2, groups.Playoffs("swiss", 2), "single_elimination or double_elimination"),
        (1, 1, None, "2 to 256"),
    ],
)
def test_a_group_stage_a_size_does_not_allow_is_refused_naming_the_rule(n, count, playoffs, rule):
    with pytest.raises(ValueError, match=rule):
        groups.plan(n, count, playoffs)
