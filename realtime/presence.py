"""Who is watching: spectator counts per room, correct across ASGI processes (issue 5).

A room is named by its channel-layer group. Each ASGI process keeps the set of its own connections
per room and refreshes all of them in one Redis call every third of REALTIME_VIEWER_TTL_S. A
connection that closes leaves at once; a process that dies stops refreshing, and its connections
expire within one TTL.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from django.conf import settings

from . import store

logger = logging.getLogger(__name__)


class Presence:
    """This process's connections, and the task that keeps them counted."""

    def __init__(self) -> None:
        self.members: dict[str, set[str]] = defaultdict(set)
        self.refresher: asyncio.Task | None = None

    @property
    def ttl_ms(self) -> int:
        return int(settings.REALTIME_VIEWER_TTL_S * 1000)

    async def join(self, room: str, member: str) -> None:
        self.members[room].add(member)
        await asyncio.to_thread(store.viewers_refresh, [(room, member)], self.ttl_ms)
        if self.refresher is None or self.refresher.done():
            self.refresher = asyncio.create_task(self._refresh_forever())

    async def leave(self, room: str, member: str) -> None:
        self.members[room].discard(member)
        if not self.members[room]:
            del self.members[room]
        await asyncio.to_thread(store.viewers_leave, room, member)

    async def _refresh_forever(self) -> None:
        while self.members:
            await asyncio.sleep(settings.REALTIME_VIEWER_TTL_S / 3)
            memberships = [(room, member) for room, members in self.members.items() for member in members]
            try:
                await asyncio.to_thread(store.viewers_refresh, memberships, self.ttl_ms)
            except Exception:  # Redis away: keep trying; the counts recover with it
                logger.warning("could not refresh %d viewer(s)", len(memberships), exc_info=True)


presence = Presence()


def counts(tournament_id: int, match_ids: list[int]) -> dict:
    """{"tournament": n, "matches": {match_id: n}}: connections to each room right now."""
    rooms = [store.tournament_group(tournament_id), *map(store.match_group, match_ids)]
    by_room = store.viewer_counts(rooms)
    return {
        "tournament": by_room[store.tournament_group(tournament_id)],
        "matches": {match_id: by_room[store.match_group(match_id)] for match_id in match_ids},
    }
