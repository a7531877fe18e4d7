"""Names of everything realtime keeps in Redis, and of the rooms frames are published to.

The Redis key table (types, fields, lifetimes) is in docs/architecture.md "Redis keys"; a unit test
checks that it names every key built here. All keys start with `rt:<namespace>:` and expire; room
groups (and so their pub/sub channels) start with the namespace too. The namespace is the database's
(realtime.models.Namespace), read once per process: Redis state left by another database — a reset
one, another deployment on the same Redis — is another namespace's, never read as this one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

PREFIX = "rt:"  # of every namespace's keys

_namespace: str | None = None


def namespace() -> str:
    """This database's namespace (read from it the first time; a process started before the database
    was reset keeps the old one until it restarts: restart every process after a reset or a restore)."""
    global _namespace
    if _namespace is None:
        from realtime.models import Namespace  # the app registry is ready by the first key

        _namespace = settings.REALTIME_NAMESPACE or Namespace.current()
    return _namespace


def use_namespace(value: str | None) -> None:
    """Set (or, with None, forget) the namespace: at process start, and in tests."""
    global _namespace
    _namespace = value


def _prefix() -> str:
    return f"{PREFIX}{namespace()}:"


def pending_batches() -> str:
    """Matches with a pending score batch, by when they are due (realtime/store/coalescing.py)."""
    return f"{_prefix()}pending"


def unsaved_scores() -> str:
    """Matches whose published live score the database does not hold yet."""
    return f"{_prefix()}unsaved"


# The channel-layer message type of every published frame; lua/lib/publish.lua writes it and
# realtime.consumers handles it (a unit test pins the three together).
FRAME_MESSAGE_TYPE = "realtime.frame"
# A message an ASGI process publishes to a room it has just subscribed to, to know the subscription
# is live once it comes back (realtime/fanout.py).
PROBE_MESSAGE_TYPE = "realtime.probe"


def match_state(match_id: int) -> str:
    return f"{_prefix()}match:{match_id}"


def tournament_state(tournament_id: int) -> str:
    return f"{_prefix()}tournament:{tournament_id}"


def officials(tournament_id: int) -> str:
    """Who may post live scores to the tournament's matches (user ids), as the database last said."""
    return f"{_prefix()}officials:{tournament_id}"


def history(tournament_id: int) -> str:
    return f"{_prefix()}history:{tournament_id}"


def presence(group: str) -> str:
    return f"{_prefix()}presence:{group}"


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
        return f"{namespace()}.{self.kind}.{self.id}"

    @property
    def channel(self) -> str:
        return channel_of_group(self.group)

    @property
    def stream(self) -> str:
        return tournament_stream(self.id) if self.kind is RoomKind.TOURNAMENT else match_stream(self.id)

    @property
    def presence_key(self) -> str:
        return presence(self.group)
