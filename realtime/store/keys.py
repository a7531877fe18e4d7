"""Names of everything realtime keeps in Redis, and of the rooms frames are published to.

The Redis key table (types, fields, lifetimes) is in docs/architecture.md "Redis keys"; a unit test
checks that it names every key built here. All keys start with `rt:` and expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

PREFIX = "rt:"
PENDING_BATCHES = f"{PREFIX}pending"
# Matches whose published live score the database does not hold yet (realtime/store/coalescing.py).
UNSAVED_SCORES = f"{PREFIX}unsaved"

# The channel-layer message type of every published frame; lua/lib/publish.lua writes it and
# realtime.consumers handles it (a unit test pins the three together).
FRAME_MESSAGE_TYPE = "realtime.frame"
# A message an ASGI process publishes to a room it has just subscribed to, to know the subscription
# is live once it comes back (realtime/fanout.py).
PROBE_MESSAGE_TYPE = "realtime.probe"


def match_state(match_id: int) -> str:
    return f"{PREFIX}match:{match_id}"


def tournament_state(tournament_id: int) -> str:
    return f"{PREFIX}tournament:{tournament_id}"


def officials(tournament_id: int) -> str:
    """Who may post live scores to the tournament's matches (user ids), as the database last said."""
    return f"{PREFIX}officials:{tournament_id}"


def history(tournament_id: int) -> str:
    return f"{PREFIX}history:{tournament_id}"


def presence(group: str) -> str:
    return f"{PREFIX}presence:{group}"


def pending_member(match_id: int, tournament_id: int) -> str:
    """A match's entry in the pending batches and unsaved scores zsets (the sweep needs both ids)."""
    return f"{match_id}:{tournament_id}"


def parse_pending_member(member: bytes | str) -> tuple[int, int]:
    match_id, tournament_id = (member.decode() if isinstance(member, bytes) else member).split(":")
    return int(match_id), int(tournament_id)


def match_stream(match_id: int) -> str:
    """The sequence a match's events carry: clients and consumers keep their position per stream."""
    return f"m:{match_id}"


def tournament_stream(tournament_id: int) -> str:
    return f"t:{tournament_id}"


def channel_of_group(group: str) -> str:
    """The Redis pub/sub channel channels-redis' RedisPubSubChannelLayer uses for `group`.

    Mirrors RedisPubSubLoopLayer._get_group_channel_name; a test pins the two together.
    """
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}__group__{group}"


class RoomKind(StrEnum):
    TOURNAMENT = "tournament"
    MATCH = "match"


@dataclass(frozen=True)
class Room:
    """A WebSocket room (`ws/<kind>/<id>/`) and every name it goes by.

    group: its channel-layer group; channel: the Redis pub/sub channel of that group; stream: the
    sequence its subject's events carry; presence_key: the zset counting its connections.
    """

    kind: RoomKind
    id: int

    @classmethod
    def tournament(cls, tournament_id: int) -> Room:
        return cls(RoomKind.TOURNAMENT, tournament_id)

    @classmethod
    def match(cls, match_id: int) -> Room:
        return cls(RoomKind.MATCH, match_id)

    @property
    def group(self) -> str:
        return f"{self.kind}.{self.id}"

    @property
    def channel(self) -> str:
        return channel_of_group(self.group)

    @property
    def stream(self) -> str:
        return tournament_stream(self.id) if self.kind is RoomKind.TOURNAMENT else match_stream(self.id)

    @property
    def presence_key(self) -> str:
        return presence(self.group)
