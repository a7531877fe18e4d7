"""Resuming a client from the sequences it last saw (pure logic; docs/protocol.md "Resuming").

Within a tournament every match's sequence (and the tournament's) is dense in the history: each
increment was published, to the tournament room, and appended to the history in the same script.
So a client that saw sequence n of a stream missed exactly n+1 .. latest, and the history either
holds all of them or it does not reach back far enough. Like Centrifugo's recovery, it is all or
nothing: never a partial replay with a hole in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import parse_client_json
from .store.history import HistoryEntry, Position

MAX_CHARS = 65536


@dataclass(frozen=True)
class ResumeRequest:
    epoch: str
    sequences: dict[str, int]

    @classmethod
    def parse(cls, raw: str) -> ResumeRequest:
        """From `{"epoch": "...", "sequences": {"m:5": 12, "t:1": 3}}`; ValueError if malformed."""
        if len(raw) > MAX_CHARS:
            raise ValueError("resume is too long")
        data = parse_client_json(raw)
        if not isinstance(data, dict) or not isinstance(data.get("epoch"), str):
            raise ValueError("resume needs an epoch")
        sequences = data.get("sequences")
        if not isinstance(sequences, dict) or len(sequences) > 2000:
            raise ValueError("resume needs sequences: {stream: sequence}")
        for stream, sequence in sequences.items():
            if not isinstance(stream, str) or isinstance(sequence, bool) or not isinstance(sequence, int):
                raise ValueError("sequences map stream names to integers")
        return cls(epoch=data["epoch"], sequences=sequences)


def missed_frames(request: ResumeRequest, position: Position, history: list[HistoryEntry]) -> list[str] | None:
    """The frames of `position`'s streams the client has not seen, in publish order.

    None when they cannot all be replayed: another epoch (the state was lost and rebuilt), a client
    ahead of the server, or a history that no longer reaches back. The client then needs a snapshot.
    """
    if request.epoch != position.epoch:
        return None
    next_expected = {}
    for stream, latest in position.sequences.items():
        seen = request.sequences.get(stream, 0)
        if seen > latest:
            return None
        next_expected[stream] = seen + 1
    frames = []
    for entry in history:
        if entry.stream not in next_expected or entry.sequence < next_expected[entry.stream]:
            continue
        if entry.sequence != next_expected[entry.stream]:
            return None  # the entry the client needs next was trimmed away
        next_expected[entry.stream] += 1
        frames.append(entry.frame)
    if any(next_expected[stream] != latest + 1 for stream, latest in position.sequences.items()):
        return None
    return frames
