"""Single-elimination bracket layout: pure functions, no database.

Round 1 has `size` = the next power of two >= n slots, filled in standard seeding order so that
seeds 1 and 2 can only meet in the final (1 vs n, ...). Slots past n are byes: the seed facing a
bye has no round-1 match and starts in round 2.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_PARTICIPANTS = 2
MAX_PARTICIPANTS = 256


def bracket_size(participant_count: int) -> int:
    size = 1
    while size < participant_count:
        size *= 2
    return size


def seeding_order(size: int) -> list[int]:
    """Seeds in round-1 slot order: [1, 8, 4, 5, 2, 7, 3, 6] for 8."""
    order = [1]
    while len(order) < size:
        total = 2 * len(order) + 1
        order = [seed for top in order for seed in (top, total - top)]
    return order


def round_count(participant_count: int) -> int:
    return bracket_size(participant_count).bit_length() - 1


def next_slot(round_number: int, position: int) -> tuple[int, int, int]:
    """(round, position, 1 or 2) of the slot the winner of (round_number, position) moves into."""
    return round_number + 1, position // 2, 1 + position % 2


def feeding_slots(round_number: int, position: int) -> list[tuple[int, int]]:
    """(round, position) of the matches whose winners play (round_number, position)."""
    if round_number <= 1:
        return []
    return [(round_number - 1, 2 * position), (round_number - 1, 2 * position + 1)]


@dataclass(frozen=True)
class PlannedMatch:
    round: int
    position: int
    seed1: int | None  # None: decided by an earlier match
    seed2: int | None


def plan(participant_count: int) -> list[PlannedMatch]:
    """Every match of the bracket, with the seeds known before any game is played."""
    if not MIN_PARTICIPANTS <= participant_count <= MAX_PARTICIPANTS:
        raise ValueError(f"a bracket needs {MIN_PARTICIPANTS} to {MAX_PARTICIPANTS} participants")
    size = bracket_size(participant_count)
    slots = [seed if seed <= participant_count else None for seed in seeding_order(size)]
    matches: list[PlannedMatch] = []
    byes: dict[tuple[int, int], int] = {}  # (position in round 2, slot) -> seed advanced by a bye
    for position in range(size // 2):
        seed1, seed2 = slots[2 * position], slots[2 * position + 1]
        if seed1 is not None and seed2 is not None:
            matches.append(PlannedMatch(1, position, seed1, seed2))
        else:
            _, next_position, slot = next_slot(1, position)
            byes[(next_position, slot)] = seed1 if seed1 is not None else seed2
    for round_number in range(2, round_count(participant_count) + 1):
        for position in range(size >> round_number):
            seed1 = byes.get((position, 1)) if round_number == 2 else None
            seed2 = byes.get((position, 2)) if round_number == 2 else None
            matches.append(PlannedMatch(round_number, position, seed1, seed2))
    return matches
