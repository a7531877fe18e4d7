"""Bracket layout invariants for every size (pure logic, property-based)."""

from hypothesis import given
from hypothesis import strategies as st

from tournaments import bracket


def test_seeding_order_puts_top_seeds_in_opposite_halves():
    assert bracket.seeding_order(8) == [1, 8, 4, 5, 2, 7, 3, 6]


@given(st.integers(min_value=2, max_value=256))
def test_every_participant_plays_round_one_or_gets_a_bye_exactly_once(n):
    planned = bracket.plan(n)
    round_one = [seed for m in planned if m.round == 1 for seed in (m.seed1, m.seed2)]
    byes = [seed for m in planned if m.round == 2 for seed in (m.seed1, m.seed2) if seed is not None]
    assert sorted(round_one + byes) == list(range(1, n + 1))
    assert None not in round_one
    # byes go to the top seeds
    assert sorted(byes) == list(range(1, len(byes) + 1))


@given(st.integers(min_value=2, max_value=256))
def test_seeds_one_and_two_can_only_meet_in_the_final(n):
    size = bracket.bracket_size(n)
    order = bracket.seeding_order(size)
    half = size // 2
    assert (order.index(1) < half) != (order.index(2) < half)


@given(st.integers(min_value=2, max_value=256))
def test_playing_every_match_leaves_exactly_one_champion(n):
    planned = bracket.plan(n)
    slots = {(m.round, m.position): [m.seed1, m.seed2] for m in planned}
    rounds = bracket.round_count(n)
    assert len(planned) == n - 1  # every match eliminates one participant
    champion = None
    for round_number in range(1, rounds + 1):
        for (r, position), (a, b) in sorted(slots.items()):
            if r != round_number:
                continue
            assert a is not None and b is not None, f"match {r}/{position} is missing a participant"
            winner = min(a, b)  # the better seed wins
            if round_number == rounds:
                champion = winner
            else:
                next_round, next_position, slot = bracket.next_slot(r, position)
                slots[(next_round, next_position)][slot - 1] = winner
    assert champion == 1
