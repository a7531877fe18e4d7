"""What results make of a bracket: series, walkovers, and who plays whom (pure logic, no database).

The services keep the bracket in the database equal to `replay(...)` of its results after every
change (a completion, a forfeit, a disqualification, a correction, a reopening): the bracket is
always what replaying the remaining results gives, whatever order they came in.

Walkovers. A disqualified participant plays no further match: a match that is still to be played
where one side is disqualified (or empty: nobody will ever come) and the other is a participant is
a walkover for that participant; where neither side can play, the match is cancelled and sends
nobody on (the next match's opponent then gets a walkover). A side still to be decided (TBD) keeps
the match waiting, so a walkover never jumps ahead of the match that feeds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .bracket import Edge

MAX_BEST_OF = 9


def check_best_of(best_of: int) -> None:
    if isinstance(best_of, bool) or not isinstance(best_of, int) or not 1 <= best_of <= MAX_BEST_OF:
        raise ValueError(f"best-of must be a whole number from 1 to {MAX_BEST_OF}")
    if best_of % 2 == 0:
        raise ValueError("best-of must be odd, so that a series always has a winner")


def wins_needed(best_of: int) -> int:
    return best_of // 2 + 1


@dataclass(frozen=True)
class Series:
    """A best-of-N series: the wins of each side so far."""

    best_of: int
    wins: tuple[int, int] = (0, 0)

    @property
    def winner_side(self) -> int | None:
        """1 or 2 once a side has the wins it needs, else None."""
        needed = wins_needed(self.best_of)
        if self.wins[0] >= needed:
            return 1
        if self.wins[1] >= needed:
            return 2
        return None

    @property
    def over(self) -> bool:
        return self.winner_side is not None

    @property
    def games_played(self) -> int:
        return self.wins[0] + self.wins[1]

    def after_game(self, winner_side: int) -> Series:
        """The series once its next game is won by side `winner_side` (1 or 2)."""
        if self.over:
            raise ValueError("the series is over")
        if winner_side not in (1, 2):
            raise ValueError("a game is won by side 1 or side 2")
        wins = (self.wins[0] + (winner_side == 1), self.wins[1] + (winner_side == 2))
        return Series(self.best_of, wins)

    def before_last_game(self, winner_side: int) -> Series:
        """The series as it was before its last game, which side `winner_side` won (a reopening)."""
        wins = (self.wins[0] - (winner_side == 1), self.wins[1] - (winner_side == 2))
        if min(wins) < 0:
            raise ValueError(f"side {winner_side} has won no game")
        return Series(self.best_of, wins)


# What fills a side of a match in a replay.
TBD = "tbd"  # decided by a match not yet played
EMPTY = "empty"  # nobody will come (the match feeding it was cancelled)

Side = int | str  # a participant id, TBD or EMPTY


@dataclass(frozen=True)
class Node:
    """A match of the bracket as the replay sees it. `seeded`: the participants placed at
    generation in sides no edge fills (None where an edge fills it, or for a bye's empty side)."""

    id: int
    seeded: tuple[int | None, int | None]
    winner_to: Edge | None = None  # Edge.to is a Node id here
    loser_to: Edge | None = None
    reset_of: int | None = None  # a bracket reset: played only if side 2 of node `reset_of` won it


@dataclass(frozen=True)
class Outcome:
    """A decided match: who won and who lost (both None: cancelled, nobody goes on)."""

    winner: int | None
    loser: int | None

    @property
    def cancelled(self) -> bool:
        return self.winner is None


@dataclass(frozen=True)
class Replay:
    order: list[int]  # node ids in play order (every match after the matches that feed it)
    sides: dict[int, tuple[Side, Side]]  # node id -> its two sides
    walkovers: dict[int, Outcome]  # matches decided without being played, not among the results
    outcomes: dict[int, Outcome]  # every decided match: the results, the walkovers, the resets not needed
    not_needed: dict[int, Outcome] = field(default_factory=dict)  # bracket resets the first match made moot

    def cancelled(self, node_id: int) -> bool:
        """The match was (or will be) decided with nobody going on. Only a disqualification
        cancels a match; a final cancelled would leave the tournament without a champion."""
        outcome = self.outcomes.get(node_id)
        return outcome is not None and outcome.cancelled

    def participants(self, node_id: int) -> tuple[int | None, int | None]:
        """The node's participants as the database stores them (None for TBD or empty)."""
        return tuple(side if isinstance(side, int) else None for side in self.sides[node_id])  # type: ignore[return-value]


def play_order(nodes: Iterable[Node]) -> list[Node]:
    """Nodes with every node after the nodes that feed it (Kahn's algorithm; ties by id)."""
    nodes = sorted(nodes, key=lambda node: node.id)
    feeders = {node.id: 0 for node in nodes}
    for node in nodes:
        for edge in (node.winner_to, node.loser_to):
            if edge is not None:
                feeders[edge.to] += 1
    by_id = {node.id: node for node in nodes}
    ready = [node.id for node in nodes if feeders[node.id] == 0]
    ordered = []
    while ready:
        node = by_id[ready.pop(0)]
        ordered.append(node)
        for edge in (node.winner_to, node.loser_to):
            if edge is not None:
                feeders[edge.to] -= 1
                if feeders[edge.to] == 0:
                    ready.append(edge.to)
    if len(ordered) != len(nodes):
        raise ValueError("the bracket has a cycle")
    return ordered


def replay(
    nodes: Iterable[Node],
    results: Mapping[int, Outcome],
    disqualified: frozenset[int] | set[int] = frozenset(),
    held: frozenset[int] | set[int] = frozenset(),
) -> Replay:
    """Who plays each match, given the `results` of the decided ones and who is `disqualified`.

    `held`: matches that may not be decided by a walkover yet (a match feeding them is disputed,
    so who plays them may still change); they wait, as TBD sides do."""
    ordered = play_order(nodes)
    fed = {(edge.to, edge.slot) for node in ordered for edge in (node.winner_to, node.loser_to) if edge}
    sides: dict[int, list[Side]] = {
        node.id: [
            TBD if (node.id, slot) in fed else (node.seeded[slot - 1] if node.seeded[slot - 1] is not None else EMPTY)
            for slot in (1, 2)
        ]
        for node in ordered
    }
    walkovers: dict[int, Outcome] = {}
    outcomes: dict[int, Outcome] = {}
    not_needed: dict[int, Outcome] = {}
    for node in ordered:
        outcome = results.get(node.id)
        if outcome is None and node.reset_of is not None:
            first = outcomes.get(node.reset_of)
            if first is not None and first.winner == sides[node.reset_of][0]:
                # side 1 (the unbeaten upper bracket's winner) won: no second match is needed
                outcome = not_needed[node.id] = first
        if outcome is None and node.id not in held:
            outcome = walkover(*sides[node.id], disqualified)
            if outcome is not None:
                walkovers[node.id] = outcome
        if outcome is None:
            continue
        outcomes[node.id] = outcome
        for edge, goes_on in ((node.winner_to, outcome.winner), (node.loser_to, outcome.loser)):
            if edge is not None:
                sides[edge.to][edge.slot - 1] = EMPTY if goes_on is None else goes_on
    ordered_sides = {key: (a, b) for key, (a, b) in sides.items()}
    return Replay([node.id for node in ordered], ordered_sides, walkovers, outcomes, not_needed)


def walkover(side1: Side, side2: Side, disqualified: frozenset[int] | set[int]) -> Outcome | None:
    """The outcome of a match nobody needs to play, or None if it is to be played (or waits)."""
    if TBD in (side1, side2):
        return None

    def plays(side: Side) -> bool:
        return isinstance(side, int) and side not in disqualified

    if plays(side1) and plays(side2):
        return None
    if plays(side1) or plays(side2):
        winner, loser = (side1, side2) if plays(side1) else (side2, side1)
        return Outcome(winner, loser if isinstance(loser, int) else None)  # type: ignore[arg-type]
    return Outcome(None, None)
