"""Connections counted per room, across ASGI processes (the process side is realtime/presence.py).

Each member of a room's presence zset is one connection, scored by when its presence expires.
"""

from __future__ import annotations

from .keys import Room
from .scripts import client, script


def refresh(memberships: list[tuple[Room, str]], ttl_ms: int) -> None:
    """Count these (room, connection) pairs as present for another `ttl_ms` (one round trip)."""
    if memberships:
        script("presence_refresh")(
            keys=[room.presence_key for room, _ in memberships],
            args=[ttl_ms, *(connection for _, connection in memberships)],
        )


def leave(room: Room, connection: str) -> None:
    client().zrem(room.presence_key, connection)


def counts(rooms: list[Room]) -> dict[Room, int]:
    """How many connections each room has right now."""
    if not rooms:
        return {}
    found = script("presence_count")(keys=[room.presence_key for room in rooms], args=[])
    return dict(zip(rooms, map(int, found), strict=True))
