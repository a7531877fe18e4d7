"""Round-robin groups: pure functions, no database.

Participants are split into groups by snake seeding (group 1 gets seeds 1, 2k, 2k+1, ...), every pair
in a group plays once, in rounds made by the circle method (nobody plays twice in a round; an odd
group gives one participant a bye each round), and a group's standings order its participants by
wins, then the results among those tied (head-to-head: wins in the matches between them, then the
game difference in those), then the game difference over all their matches, then seed: a total
order, so every place is decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import bracket
from .bracket import GROUP, PlannedMatch, bracket_size, seeding_order

MAX_GROUP_SIZE = 32  # 496 matches a group
SINGLE_ELIMINATION = "single_elimination"
DOUBLE_ELIMINATION = "double_elimination"


@dataclass(frozen=True)
class Playoffs:
    """After the groups: the top `advance_per_group` of each group play a `format` bracket."""

    format: str  # SINGLE_ELIMINATION or DOUBLE_ELIMINATION
    advance_per_group: int


def check(participant_count: int, groups: int, playoffs: Playoffs | None) -> None:
    """ValueError naming the rule, if `participant_count` cannot play `groups` groups (then `playoffs`)."""
    if not bracket.MIN_PARTICIPANTS <= participant_count <= bracket.MAX_PARTICIPANTS:
        raise ValueError(f"a round robin needs {bracket.MIN_PARTICIPANTS} to {bracket.MAX_PARTICIPANTS} participants")
    if groups < 1:
        raise ValueError("a round robin has one group or more")
    if participant_count < 2 * groups:
        raise ValueError(f"{groups} groups of two or more need at least {2 * groups} participants")
    largest = -(-participant_count // groups)
    if largest > MAX_GROUP_SIZE:
        fewest = -(-participant_count // MAX_GROUP_SIZE)
        raise ValueError(f"a group holds at most {MAX_GROUP_SIZE} participants: play {fewest} groups or more")
    if playoffs is None:
        if groups > 1:
            raise ValueError("several groups need playoffs to decide one champion")
        return
    if playoffs.format not in (SINGLE_ELIMINATION, DOUBLE_ELIMINATION):
        raise ValueError("playoffs are single_elimination or double_elimination")
    smallest = participant_count // groups
    if not 1 <= playoffs.advance_per_group <= smallest:
        raise ValueError(f"a group of {smallest} can advance 1 to {smallest} participants")
    if groups * playoffs.advance_per_group < 2:
        raise ValueError("playoffs need at least 2 participants: advance more, or play more groups")


def plan(
    participant_count: int,
    groups: int,
    playoffs: Playoffs | None = None,
    *,
    third_place: bool = False,
    bracket_reset: bool = False,
) -> list[PlannedMatch]:
    """Every match of a round robin in `groups` groups, then of its playoffs, in play order.

    Group matches are GROUP matches seeded with participants' ranks (snake seeding, the circle
    method's rounds). Playoff matches follow (their numbers after every group match), planned like
    the bracket of their format for groups x advance_per_group participants; their seeds are playoff
    seeds (from_standings): who holds each is known once every group match is decided."""
    check(participant_count, groups, playoffs)
    matches = []
    for group, members in enumerate(split_into_groups(range(1, participant_count + 1), groups), start=1):
        for round_number, pairs in enumerate(round_robin(members), start=1):
            for position, (seed1, seed2) in enumerate(pairs):
                matches.append(PlannedMatch(len(matches), GROUP, round_number, position, seed1, seed2, group=group))
    if playoffs is None:
        return matches
    size = groups * playoffs.advance_per_group
    if playoffs.format == DOUBLE_ELIMINATION:
        bracket_plan = bracket.double_elimination_plan(size, bracket_reset=bracket_reset)
    else:
        bracket_plan = bracket.plan(size, third_place=third_place)
    offset = len(matches)

    def moved(edge: bracket.Edge | None) -> bracket.Edge | None:
        return None if edge is None else bracket.Edge(edge.to + offset, edge.slot)

    for m in bracket_plan:
        matches.append(
            PlannedMatch(
                m.number + offset, m.bracket, m.round, m.position, m.seed1, m.seed2, moved(m.winner_to),
                moved(m.loser_to), None if m.reset_of is None else m.reset_of + offset, from_standings=True,
            )
        )  # fmt: skip
    return matches


def split_into_groups(seeds: Sequence[int], groups: int) -> list[list[int]]:
    """`seeds` (best first) dealt into `groups` groups by snake order; sizes differ by at most one."""
    if groups < 1 or len(seeds) < 2 * groups:
        raise ValueError(f"{len(seeds)} participants make at most {len(seeds) // 2} groups of two or more")
    dealt: list[list[int]] = [[] for _ in range(groups)]
    for index, seed in enumerate(seeds):
        lap, place = divmod(index, groups)
        dealt[place if lap % 2 == 0 else groups - 1 - place].append(seed)
    return dealt


def round_robin(members: Sequence[int]) -> list[list[tuple[int, int]]]:
    """Rounds of pairs in which every two members meet exactly once (the circle method: the first
    member stays, the others turn one place each round). Everyone is first in about half their
    matches."""
    circle: list[int | None] = list(members) + ([None] if len(members) % 2 else [])
    rounds = []
    for number in range(len(circle) - 1):
        pairs = []
        for i in range(len(circle) // 2):
            first, second = circle[i], circle[-1 - i]
            if first is not None and second is not None:
                # the fixed member alternates sides; the others are first while in the circle's top half
                pairs.append((second, first) if i == 0 and number % 2 else (first, second))
        rounds.append(pairs)
        circle = [circle[0], circle[-1], *circle[1:-1]]
    return rounds


@dataclass(frozen=True)
class Result:
    """A decided group match: its two participants, the winner, and the games each won."""

    participant1: int
    participant2: int
    winner: int
    games1: int
    games2: int

    def games_of(self, participant: int) -> tuple[int, int]:
        """(won, lost) by `participant`."""
        return (self.games1, self.games2) if participant == self.participant1 else (self.games2, self.games1)


@dataclass(frozen=True)
class Standing:
    participant: int
    played: int
    wins: int
    losses: int
    games_won: int
    games_lost: int

    @property
    def game_difference(self) -> int:
        return self.games_won - self.games_lost


def standings(members: Sequence[int], decided: Iterable[Result]) -> list[Standing]:
    """The group's table, first place first. `members` in seed order (the last tie-break)."""
    decided = [r for r in decided if r.participant1 in members and r.participant2 in members]
    table = {member: _standing(member, decided) for member in members}
    seed = {member: index for index, member in enumerate(members)}
    by_wins: dict[int, list[int]] = {}
    for member in members:
        by_wins.setdefault(table[member].wins, []).append(member)
    ordered: list[int] = []
    for wins in sorted(by_wins, reverse=True):
        tied = by_wins[wins]
        among = [r for r in decided if r.participant1 in tied and r.participant2 in tied]
        head_to_head = {member: _standing(member, among) for member in tied}
        ordered += sorted(
            tied,
            key=lambda m: (-head_to_head[m].wins, -head_to_head[m].game_difference, -table[m].game_difference, seed[m]),
        )
    return [table[member] for member in ordered]


def _standing(member: int, decided: list[Result]) -> Standing:
    mine = [r for r in decided if member in (r.participant1, r.participant2)]
    games = [r.games_of(member) for r in mine]
    wins = sum(r.winner == member for r in mine)
    return Standing(member, len(mine), wins, len(mine) - wins, sum(g[0] for g in games), sum(g[1] for g in games))


def playoff_seeds(tables: Sequence[Sequence[int]], advance: int) -> list[int]:
    """The top `advance` of each group's table (first place first), as playoff seeds (best first).

    Group winners take the top seeds (in group order), the runners-up the next ones, and so on.
    Within each place, its participants are matched to that place's seeds so that the earliest
    round in which any of them could meet a group mate already seeded is as late as possible (a
    bottleneck assignment): a group's first two meet only in the final, and no group mates meet in
    the first round while the bracket can avoid it."""
    if advance < 1 or any(len(table) < advance for table in tables):
        raise ValueError(f"every group must have at least {advance} participants to advance {advance}")
    size = bracket_size(len(tables) * advance)
    slot_of = {seed: slot for slot, seed in enumerate(seeding_order(size))}
    group_of = {participant: index for index, table in enumerate(tables) for participant in table}
    seeds: dict[int, int] = {}  # seed -> participant

    def earliest_meeting(participant: int, seed: int) -> int:
        # two slots of a power-of-two bracket first meet in the round of their highest differing bit
        mates = [other for other, mate in seeds.items() if group_of[mate] == group_of[participant]]
        return min(((slot_of[seed] ^ slot_of[mate]).bit_length() for mate in mates), default=size)

    for place in range(advance):
        placing = [table[place] for table in tables]
        free = range(place * len(tables) + 1, (place + 1) * len(tables) + 1)
        value = {(p, seed): earliest_meeting(p, seed) for p in placing for seed in free}
        for threshold in sorted(set(value.values()), reverse=True):
            owners = _matching(placing, free, lambda p, seed, t=threshold, v=value: v[(p, seed)] >= t)
            if owners is not None:
                seeds.update(owners)
                break
    return [seeds[seed] for seed in sorted(seeds)]


def _matching(left: Sequence[int], right: Sequence[int], allowed) -> dict[int, int] | None:
    """A perfect matching of `left` into `right` using only allowed pairs (right -> left), or None.
    Kuhn's augmenting paths, a free `right` taken before any is given up: `right` is tried in
    order, so earlier `left` get earlier `right` where the rule lets them."""
    owner: dict[int, int] = {}

    def augment(item: int, seen: set[int]) -> bool:
        for candidate in right:
            if candidate not in owner and allowed(item, candidate):
                owner[candidate] = item
                return True
        for candidate in right:
            if candidate not in seen and allowed(item, candidate):
                seen.add(candidate)
                if augment(owner[candidate], seen):
                    owner[candidate] = item
                    return True
        return False

    return owner if all(augment(item, set()) for item in left) else None
