"""The first frame of every WebSocket connection: a room's state and the position it stands at.

Register, then fetch (as Zulip's event queues do): the consumer joins the room's group first, then
takes the snapshot, which reads the position from Redis *before* the state from the database. An
event published after the join is then either reflected in the snapshot (its sequence is not
above the snapshot's: the consumer drops it) or newer than it (forwarded).
"""

from __future__ import annotations

from dataclasses import dataclass

from tournaments import selectors

from . import live_fields
from .presence import viewers
from .store import history, keys
from .store.history import Position
from .store.keys import Room, RoomKind


@dataclass(frozen=True)
class RoomScope:
    """What a room delivers: the tournament it belongs to, its matches and their streams."""

    tournament_id: int
    match_ids: list[int]
    streams: frozenset[str]


@dataclass(frozen=True)
class Snapshot:
    document: dict  # the `data` of the snapshot frame
    position: Position  # the room's streams, exactly as the document reflects them


def scope(room: Room) -> RoomScope:
    if room.kind is RoomKind.TOURNAMENT:
        match_ids = selectors.match_ids(room.id)
        streams = {keys.tournament_stream(room.id), *map(keys.match_stream, match_ids)}
        return RoomScope(room.id, match_ids, frozenset(streams))
    return RoomScope(selectors.tournament_of_match(room.id), [room.id], frozenset({keys.match_stream(room.id)}))


def take(room: Room, *, with_history_id: bool = False) -> Snapshot:
    """The room's state with each match's published score and latest sequence (sync: ORM and Redis);
    `with_history_id`: and the history's newest entry (for an event stream's id)."""
    room_scope = scope(room)
    position = history.position(room_scope.tournament_id, room_scope.match_ids, with_history_id=with_history_id)
    if room.kind is RoomKind.TOURNAMENT:
        document = selectors.tournament_state(room.id)
    else:
        document = selectors.match_state(room.id)
    live_fields.overlay(
        document, position, viewers(room_scope.tournament_id, room_scope.match_ids), published_scores=True
    )
    return Snapshot(document, position.restricted_to(room_scope.streams))
