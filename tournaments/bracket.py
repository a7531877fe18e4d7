"""Bracket layout: pure functions, no database.

A bracket is a graph of matches: each side of a match is filled by a seed, or by the winner or the
loser of another match ("winner goes to / loser goes to" edges, the way brackets-manager.js and
Challonge model them). What results make of it is tournaments/results.py.

Single elimination: round 1 has `size` = the next power of two >= n slots, filled in standard
seeding order so that seeds 1 and 2 can only meet in the final (1 vs n, ...). Slots past n are
byes: the seed facing a bye has no round-1 match and starts in round 2. With a third-place match,
the semi-finals' losers play it.

Double elimination (double_elimination_plan): the upper bracket's losers drop into a lower bracket;
losing there ends it; the two brackets' winners meet in the grand final.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_PARTICIPANTS = 2
MAX_PARTICIPANTS = 256

MAIN = "main"  # single elimination's bracket; double elimination's upper bracket
THIRD_PLACE = "third_place"
LOWER = "lower"  # double elimination: where the upper bracket's losers play on
GRAND_FINAL = "grand_final"
GROUP = "group"  # a round-robin group's match (tournaments/groups.py)


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
    reset_of: int | None = None  # a bracket reset: played only if the lower bracket's winner won match `reset_of`
    group: int = 0  # a group match: its group, from 1 (0: not a group match)
    # Playoffs after groups: seed1/seed2 are playoff seeds, known once the group stage is over.
    from_standings: bool = False

    @property
    def is_final(self) -> bool:
        return self.bracket in (MAIN, GRAND_FINAL) and self.winner_to is None


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


# --- Double elimination ------------------------------------------------------------------------

_EMPTY = "empty"  # while planning: a side nobody will fill (a bye, or the loser of a bye)


def double_elimination_plan(participant_count: int, *, bracket_reset: bool = False) -> list[PlannedMatch]:
    """Every match of a double-elimination bracket, in play order (every match after its feeders).

    The upper bracket is single elimination on the bracket size (the next power of two), seeded in
    standard order. Its losers drop into the lower bracket: round 1 pairs the upper round 1's losers;
    each even lower round meets the survivors with the losers of the next upper round, dropped in
    reversed order (odd drops) or with the halves swapped (even drops), so that two participants who
    just met do not meet again at once; each odd lower round after the first halves the field. The
    upper bracket's winner meets the lower bracket's in the grand final: whoever wins it is
    champion, or, with `bracket_reset`, if the lower bracket's winner wins it, the two play again
    (each then has one loss), so that nobody is champion after losing less often than the runner-up.
    Byes are planned away: a match one side of which nobody can fill is not played, its other side
    goes straight on, and its loser's place stays empty in turn. 2n - 2 matches (2n - 1 with the
    reset, which may not be needed).
    """
    if not MIN_PARTICIPANTS <= participant_count <= MAX_PARTICIPANTS:
        raise ValueError(f"a bracket needs {MIN_PARTICIPANTS} to {MAX_PARTICIPANTS} participants")
    size = bracket_size(participant_count)
    rounds = round_count(participant_count)
    slots = [seed if seed <= participant_count else None for seed in seeding_order(size)]
    graph = _Graph()
    upper = {
        (r, p): graph.add(MAIN, r, p) for r in range(1, rounds + 1) for p in range(size >> r)
    }  # fmt: skip
    grand_final = graph.add(GRAND_FINAL, rounds + 1, 0)
    if bracket_reset:
        reset = graph.add(GRAND_FINAL, rounds + 2, 0)
        graph.link(grand_final, "winner", reset, 2)  # if the reset is played, the lower winner won
        graph.link(grand_final, "loser", reset, 1)
        graph.resets[reset] = grand_final
    for p in range(size // 2):
        for slot in (1, 2):
            seed = slots[2 * p + slot - 1]
            graph.seed(upper[(1, p)], slot, seed if seed is not None else _EMPTY)
    for (r, p), match in upper.items():
        graph.link(match, "winner", upper.get((r + 1, p // 2), grand_final), 1 + p % 2 if r < rounds else 1)
    if rounds == 1:  # two participants: the loser of their match gets a second chance in the grand final
        graph.link(upper[(1, 0)], "loser", grand_final, 2)
        return graph.planned()
    lower = {}
    for j in range(1, 2 * rounds - 1):  # lower rounds 1 .. 2(rounds - 1)
        count = size >> (j // 2 + 2 if j % 2 else j // 2 + 1)
        for p in range(count):
            lower[(j, p)] = graph.add(LOWER, j, p)
    for p in range(size >> 2):
        graph.link(upper[(1, 2 * p)], "loser", lower[(1, p)], 1)
        graph.link(upper[(1, 2 * p + 1)], "loser", lower[(1, p)], 2)
    for drop in range(1, rounds):  # lower round 2 * drop: the losers of upper round drop + 1 come in
        count = size >> (drop + 1)
        for p in range(count):
            graph.link(lower[(2 * drop - 1, p)], "winner", lower[(2 * drop, p)], 1)
            came_from = count - 1 - p if drop % 2 else (p + count // 2) % count
            graph.link(upper[(drop + 1, came_from)], "loser", lower[(2 * drop, p)], 2)
        if drop < rounds - 1:  # then lower round 2 * drop + 1 halves the field
            for p in range(count):
                graph.link(lower[(2 * drop, p)], "winner", lower[(2 * drop + 1, p // 2)], 1 + p % 2)
    graph.link(lower[(2 * rounds - 2, 0)], "winner", grand_final, 2)
    return graph.planned()


class _Graph:
    """A bracket being planned: matches keyed by (bracket, round, position), each side a seed,
    _EMPTY, or fed by another match's winner or loser."""

    def __init__(self) -> None:
        self.sides: dict[tuple, list] = {}  # match -> [side 1, side 2]: a seed, _EMPTY, or None (fed)
        self.edges: dict[tuple, dict[str, tuple[tuple, int]]] = {}  # match -> {"winner"/"loser": (to, slot)}
        self.resets: dict[tuple, tuple] = {}  # a bracket reset -> the grand final it may follow

    def add(self, bracket_name: str, round_number: int, position: int) -> tuple:
        key = (bracket_name, round_number, position)
        self.sides[key], self.edges[key] = [None, None], {}
        return key

    def seed(self, match: tuple, slot: int, seed: int | str) -> None:
        self.sides[match][slot - 1] = seed

    def link(self, match: tuple, outcome: str, to: tuple, slot: int) -> None:
        self.edges[match][outcome] = (to, slot)

    def _fill(self, target: tuple | None, value: int | str | tuple) -> None:
        """What a removed match sent to `target`: a seed, _EMPTY, or ("edge", match, outcome)."""
        if target is None:
            return
        to, slot = target
        if isinstance(value, tuple):
            _, feeder, outcome = value
            self.edges[feeder][outcome] = target
        else:
            self.sides[to][slot - 1] = value

    def _feeder_of(self, match: tuple, slot: int) -> tuple:
        for feeder, edges in self.edges.items():
            for outcome, target in edges.items():
                if target == (match, slot):
                    return ("edge", feeder, outcome)
        raise AssertionError(f"side {slot} of {match} is filled by nothing")

    def _prune(self) -> None:
        """Remove every match one side of which nobody can fill (see double_elimination_plan)."""
        while True:
            empty = next((m for m, sides in self.sides.items() if _EMPTY in sides), None)
            if empty is None:
                return
            other_slot = 2 if self.sides[empty][0] == _EMPTY else 1
            other = self.sides[empty][other_slot - 1]
            other = self._feeder_of(empty, other_slot) if other is None else other
            edges = self.edges[empty]
            del self.sides[empty], self.edges[empty]
            self._fill(edges.get("winner"), other)  # the one who came goes on (nobody, if nobody came)
            self._fill(edges.get("loser"), _EMPTY)

    def planned(self) -> list[PlannedMatch]:
        self._prune()
        feeders = {match: 0 for match in self.sides}
        for edges in self.edges.values():
            for to, _ in edges.values():
                feeders[to] += 1
        order = [LOWER, GRAND_FINAL]
        rank = {
            match: (match[1], order.index(match[0]) + 1 if match[0] in order else 0, match[2]) for match in self.sides
        }
        ready = sorted((m for m, count in feeders.items() if count == 0), key=rank.get)
        ordered = []
        while ready:
            match = ready.pop(0)
            ordered.append(match)
            for to, _ in self.edges[match].values():
                feeders[to] -= 1
                if feeders[to] == 0:
                    ready.append(to)
                    ready.sort(key=rank.get)
        number = {match: index for index, match in enumerate(ordered)}

        def edge(match: tuple, outcome: str) -> Edge | None:
            target = self.edges[match].get(outcome)
            return Edge(number[target[0]], target[1]) if target else None

        return [
            PlannedMatch(
                number[m],
                m[0],
                m[1],
                m[2],
                *self.sides[m],
                edge(m, "winner"),
                edge(m, "loser"),
                number[self.resets[m]] if m in self.resets else None,
            )  # fmt: skip
            for m in ordered
        ]
