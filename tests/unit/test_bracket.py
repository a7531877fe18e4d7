"""Bracket layout invariants for every size (pure logic, property-based)."""

from hypothesis import given
from hypothesis import strategies as st

from tournaments import bracket

sizes = st.integers(min_value=2, max_value=256)


def test_seeding_order_puts_top_seeds_in_opposite_halves():
    assert bracket.seeding_order(8) == [1, 8, 4, 5, 2, 7, 3, 6]


@given(sizes)
def test_every_participant_plays_round_one_or_gets_a_bye_exactly_once(n):
    planned = bracket.plan(n)
    round_one = [seed for m in planned if m.round == 1 for seed in (m.seed1, m.seed2)]
    byes = [seed for m in planned if m.round == 2 for seed in (m.seed1, m.seed2) if seed is not None]
    assert sorted(round_one + byes) == list(range(1, n + 1))
    assert None not in round_one
    # byes go to the top seeds
    assert sorted(byes) == list(range(1, len(byes) + 1))


@given(sizes)
def test_seeds_one_and_two_can_only_meet_in_the_final(n):
    size = bracket.bracket_size(n)
    order = bracket.seeding_order(size)
    half = size // 2
    assert (order.index(1) < half) != (order.index(2) < half)


@given(sizes, st.booleans())
def test_every_side_is_filled_exactly_once_and_edges_point_forward(n, third_place):
    third_place = third_place and n >= 4
    planned = bracket.plan(n, third_place=third_place)
    fed = [(edge.to, edge.slot) for m in planned for edge in (m.winner_to, m.loser_to) if edge]
    assert len(fed) == len(set(fed)), "two matches send someone to the same side"
    for m in planned:
        for slot, seed in ((1, m.seed1), (2, m.seed2)):
            assert (seed is not None) != ((m.number, slot) in fed), f"side {slot} of {m} is filled twice or never"
        for edge in (m.winner_to, m.loser_to):
            assert edge is None or edge.to > m.number, "the plan lists every match after its feeders"
    assert [m.number for m in planned] == list(range(len(planned)))
    assert sum(m.is_final for m in planned) == 1
    assert len(planned) == n - 1 + third_place  # every main-bracket match eliminates one participant


@given(sizes, st.booleans())
def test_playing_every_match_leaves_exactly_one_champion(n, third_place):
    third_place = third_place and n >= 4
    planned = bracket.plan(n, third_place=third_place)
    sides = {m.number: [m.seed1, m.seed2] for m in planned}
    placed = {}
    for m in planned:  # in play order: the better seed wins
        a, b = sides[m.number]
        assert a is not None and b is not None, f"{m} is missing a participant"
        winner, loser = min(a, b), max(a, b)
        for edge, goes_on in ((m.winner_to, winner), (m.loser_to, loser)):
            if edge is not None:
                sides[edge.to][edge.slot - 1] = goes_on
        if m.is_final:
            placed["champion"], placed["runner_up"] = winner, loser
        if m.bracket == bracket.THIRD_PLACE:
            placed["third"] = winner
    assert placed["champion"] == 1 and placed["runner_up"] == 2
    if third_place:
        assert placed["third"] == 3
