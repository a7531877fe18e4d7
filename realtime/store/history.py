"""Where a tournament's realtime state stands (epoch, sequences, published scores) and its history.

Read by snapshots (which must agree with the sequences they carry) and by resuming clients (which
are replayed what they missed from the history).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import keys
from .scripts import client


@dataclass(frozen=True)
class Position:
    """The epoch and the latest sequence of each stream, and each match's published score."""

    epoch: str
    sequences: dict[str, int]  # stream ("t:<id>", "m:<id>") -> latest sequence, 0 if none yet
    # match id -> (p1, p2, score_version, game) of the last published frame that carried a score
    published_scores: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    last_history_id: str = ""  # the history's newest entry ("" if empty): server-sent events resume after it

    def of_tournament(self, tournament_id: int) -> int:
        return self.sequences.get(keys.tournament_stream(tournament_id), 0)

    def of_match(self, match_id: int) -> int:
        return self.sequences.get(keys.match_stream(match_id), 0)

    def restricted_to(self, streams: set[str]) -> Position:
        return Position(
            self.epoch,
            {stream: seq for stream, seq in self.sequences.items() if stream in streams},
            self.published_scores,
            self.last_history_id,
        )


@dataclass(frozen=True)
class HistoryEntry:
    stream: str
    sequence: int
    frame: str
    id: str = ""  # its id in the Redis stream ("<ms>-<n>"), increasing in publish order


def entry_order(entry_id: str) -> tuple[int, int]:
    """A history entry id (a Redis stream id, "<ms>-<n>") as a sortable pair."""
    ms, _, n = entry_id.partition("-")
    return int(ms), int(n or 0)


def successor(entry_id: str) -> str:
    """The smallest entry id after `entry_id`."""
    ms, n = entry_order(entry_id)
    return f"{ms}-{n + 1}"


def position(tournament_id: int, match_ids: list[int], *, with_history_id: bool = False) -> Position:
    """The epoch and latest sequences of the tournament and of the given matches (one round trip).
    With `with_history_id`, also the history's newest entry, read atomically with them (an event
    stream resumes from it: it must not be newer than the sequences)."""
    pipe = client().pipeline(transaction=with_history_id)
    if with_history_id:
        pipe.xrevrange(keys.history(tournament_id), count=1)
    _read_position(pipe, tournament_id, match_ids)
    replies = pipe.execute()
    newest = replies.pop(0) if with_history_id else []
    return _position(tournament_id, match_ids, replies, newest)


def history(tournament_id: int, match_ids: list[int], since: str = "-") -> tuple[Position, list[HistoryEntry]]:
    """The position and the history's entries from `since` (an entry id, inclusive; all of them by
    default), oldest first, read atomically."""
    pipe = client().pipeline(transaction=True)
    _read_position(pipe, tournament_id, match_ids)
    pipe.xrange(keys.history(tournament_id), min=since)
    *replies, entries = pipe.execute()
    return _position(tournament_id, match_ids, replies, []), [
        HistoryEntry(fields[b"s"].decode(), int(fields[b"q"]), fields[b"f"].decode(), entry_id.decode())
        for entry_id, fields in entries
    ]


def oldest_entry(tournament_id: int) -> str:
    """The history's oldest entry id ("" if it is empty)."""
    first = client().xrange(keys.history(tournament_id), count=1)
    return first[0][0].decode() if first else ""


def _read_position(pipe, tournament_id: int, match_ids: list[int]) -> None:
    pipe.hmget(keys.tournament_state(tournament_id), "epoch", "seq")
    for match_id in match_ids:
        pipe.hmget(keys.match_state(match_id), "seq", "published_score")


def _position(tournament_id: int, match_ids: list[int], replies: list, newest: list) -> Position:
    (epoch, tournament_sequence), *matches = replies
    sequences = {keys.tournament_stream(tournament_id): int(tournament_sequence or 0)}
    published_scores = {}
    for match_id, (sequence, score) in zip(match_ids, matches, strict=True):
        sequences[keys.match_stream(match_id)] = int(sequence or 0)
        if score:
            p1, p2, version, *game = (int(part) for part in score.split(b":"))
            published_scores[match_id] = (p1, p2, version, game[0] if game else 1)
    return Position(
        epoch=(epoch or b"").decode(),
        sequences=sequences,
        published_scores=published_scores,
        last_history_id=newest[0][0].decode() if newest else "",
    )
