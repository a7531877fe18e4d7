"""Bracket layout: pure functions, no database.

A bracket is a graph of matches: each side of a match is filled by a seed, or by the winner or the
loser of another match ("winner goes to / loser goes to" edges, the way brackets-manager.js and
Challonge model them). What results make of it is tournaments/results.py.

Single elimination: round 1 has `size` = the next power of two >= n slots, filled in standard
seeding order so that seeds 1 and 2 can only meet in the final (1 vs n, ...). Slots past n are
byes: the seed facing a bye has no round-1 match and starts in round 2. With a third-place match,
the semi-finals' losers play it.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_PARTICIPANTS = 2
MAX_PARTICIPANTS = 256

MAIN = "main"
THIRD_PLACE = "third_place"


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


@dataclass(frozen=True)
class Edge:
    """Where a match's winner (or loser) goes: side `slot` (1 or 2) of match number `to`."""

    to: int
    slot: int


@dataclass(frozen=True)
class PlannedMatch:
    """One match of a planned bracket; `number` is its index in the plan (edges point at numbers)."""

    number: int
    bracket: str  # MAIN or THIRD_PLACE
    round: int
    position: int
    seed1: int | None  # a side known before any game is played; None: filled by an edge
    seed2: int | None
    winner_to: Edge | None = None  # None: the final (or the third-place match)
    loser_to: Edge | None = None

    @property
    def is_final(self) -> bool:
        return self.bracket == MAIN and self.winner_to is None


def plan(participant_count: int, *, third_place: bool = False) -> list[PlannedMatch]:
    """Every match of a single-elimination bracket, with the seeds known before any game is played.

    Matches are listed in play order (every match after the matches that feed it)."""
    if not MIN_PARTICIPANTS <= participant_count <= MAX_PARTICIPANTS:
        raise ValueError(f"a bracket needs {MIN_PARTICIPANTS} to {MAX_PARTICIPANTS} participants")
    if third_place and participant_count < 4:
        raise ValueError("a third-place match needs at least 4 participants")
    size = bracket_size(participant_count)
    rounds = round_count(participant_count)
    slots = [seed if seed <= participant_count else None for seed in seeding_order(size)]
    # (round, position) -> [seed1, seed2] for every match that is played; byes fill round 2 directly
    sides: dict[tuple[int, int], list[int | None]] = {}
    for position in range(size // 2):
        seed1, seed2 = slots[2 * position], slots[2 * position + 1]
        if seed1 is not None and seed2 is not None:
            sides[(1, position)] = [seed1, seed2]
        elif rounds > 1:
            sides.setdefault((2, position // 2), [None, None])[position % 2] = seed1 if seed1 is not None else seed2
    for round_number in range(2, rounds + 1):
        for position in range(size >> round_number):
            sides.setdefault((round_number, position), [None, None])
    number_of = {place: number for number, place in enumerate(sorted(sides))}
    third = len(number_of) if third_place else None
    matches = []
    for (round_number, position), (seed1, seed2) in sorted(sides.items()):
        next_place = (round_number + 1, position // 2)
        winner_to = Edge(number_of[next_place], 1 + position % 2) if next_place in number_of else None
        loser_to = Edge(third, 1 + position % 2) if third is not None and round_number == rounds - 1 else None
        matches.append(
            PlannedMatch(number_of[(round_number, position)], MAIN, round_number, position, seed1, seed2,
                         winner_to, loser_to)
        )  # fmt: skip
    if third is not None:
        matches.append(PlannedMatch(third, THIRD_PLACE, rounds, 0, None, None))
    return matches
