"""Who is watching: connections counted per room, correct across ASGI processes.

Each ASGI process keeps the set of its own connections per room and refreshes all of them in one
Redis call every third of REALTIME_VIEWER_TTL_S (realtime/store/presence.py). A connection that
closes leaves at once; a process that dies stops refreshing, and its connections expire within one
TTL.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from django.conf import settings

from .store import presence as presence_store
from .store.keys import Room

logger = logging.getLogger(__name__)


class PresenceTracker:
    """This process's connections, and the task that keeps them counted."""

    def __init__(self) -> None:
        self.connections: dict[Room, set[str]] = defaultdict(set)
        self.refresher: asyncio.Task | None = None
        # A leave must not land between a refresh's reading of the connections and its write to
        # Redis: the refresh would count the connection again for one more TTL.
        self.writing = asyncio.Lock()

    @property
    def ttl_ms(self) -> int:
        return int(settings.REALTIME_VIEWER_TTL_S * 1000)

    async def join(self, room: Room, connection: str) -> None:
        """Count the connection (raises if Redis is away: the caller then leaves, which forgets it)."""
        async with self.writing:
            self.connections[room].add(connection)
            await asyncio.to_thread(presence_store.refresh, [(room, connection)], self.ttl_ms)
        if self.refresher is None or self.refresher.done():
            self.refresher = asyncio.create_task(self._refresh_forever())

    async def leave(self, room: Room, connection: str) -> None:
        """Stop counting the connection; never raises (while Redis is away, its entry expires)."""
        async with self.writing:
            self.connections[room].discard(connection)
            if not self.connections[room]:
                del self.connections[room]
            try:
                await asyncio.to_thread(presence_store.leave, room, connection)
            except Exception:
                logger.warning("could not remove a connection from %s; it expires by itself", room.group, exc_info=True)

    async def _refresh_forever(self) -> None:
        while self.connections:
            await asyncio.sleep(settings.REALTIME_VIEWER_TTL_S / 3)
            async with self.writing:
                memberships = [
                    (room, connection) for room, members in self.connections.items() for connection in members
                ]
                try:
                    await asyncio.to_thread(presence_store.refresh, memberships, self.ttl_ms)
                except Exception:  # Redis away: keep trying; the counts recover with it
                    logger.warning("could not refresh %d connection(s)", len(memberships), exc_info=True)


tracker = PresenceTracker()


def viewers(tournament_id: int, match_ids: list[int]) -> dict:
    """{"tournament": n, "matches": {match_id: n}}: connections to each room right now."""
    tournament_room = Room.tournament(tournament_id)
    match_rooms = {match_id: Room.match(match_id) for match_id in match_ids}
    counts = presence_store.counts([tournament_room, *match_rooms.values()])
    return {
        "tournament": counts[tournament_room],
        "matches": {match_id: counts[room] for match_id, room in match_rooms.items()},
    }
