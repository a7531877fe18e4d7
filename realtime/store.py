"""The one place that knows the realtime Redis keys and Lua scripts.

Keys (all under `rt:`, all expiring; idle matches cost nothing):
  rt:match:<id>        hash   seq, token, pending, since, done, ver, head, tail (latest score frame),
                              shown (last published score frame)
  rt:tournament:<id>   hash   seq, epoch (changes only if the realtime state was lost)
  rt:history:<id>      stream the tournament's recent frames: s (stream), q (sequence), f (frame)
  rt:pending           zset   "<match_id>:<tournament_id>" -> when its pending batch opened (ms)
  rt:viewers:<group>   zset   WebSocket channel name -> when its presence expires (ms), per room
                              (named by its channel-layer group); refreshed by each ASGI process

Every script that assigns a sequence also PUBLISHes the frame carrying it, in the same atomic step,
to the channel-layer groups of the rooms (channels_redis' pub/sub layer: one Redis channel per
group). Redis runs scripts one at a time, so the order in which sequences are assigned is the
order in which frames are published: a flush and a completion racing in different processes can
never publish a score after the completion (docs/architecture.md).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import redis
from django.conf import settings

from .events import FrameTemplate

KEY_PREFIX = "rt:"
PENDING_KEY = f"{KEY_PREFIX}pending"

# The channel-layer message every script publishes; realtime.consumers handles "realtime.frame".
FRAME_MESSAGE_TYPE = "realtime.frame"


def match_key(match_id: int) -> str:
    return f"{KEY_PREFIX}match:{match_id}"


def tournament_key(tournament_id: int) -> str:
    return f"{KEY_PREFIX}tournament:{tournament_id}"


def history_key(tournament_id: int) -> str:
    return f"{KEY_PREFIX}history:{tournament_id}"


def match_stream(match_id: int) -> str:
    """Name of the sequence a match's events carry (clients and consumers key their dedupe by it)."""
    return f"m:{match_id}"


def tournament_stream(tournament_id: int) -> str:
    return f"t:{tournament_id}"


def tournament_group(tournament_id: int) -> str:
    """Channel-layer group of the tournament room."""
    return f"tournament.{tournament_id}"


def match_group(match_id: int) -> str:
    return f"match.{match_id}"


def group_channel(group: str) -> str:
    """The Redis pub/sub channel channels_redis' RedisPubSubChannelLayer uses for `group`.

    Mirrors RedisPubSubLoopLayer._get_group_channel_name; tests/test_store.py pins the two together.
    """
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}__group__{group}"


def viewers_key(room: str) -> str:
    """Presence set of a room, named by its channel-layer group."""
    return f"{KEY_PREFIX}viewers:{room}"


def _pending_member(match_id: int, tournament_id: int) -> str:
    return f"{match_id}:{tournament_id}"


# Redis's clock in ms, so process clocks never matter: `t` (TIME's reply) and `now`.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Shared by every script that publishes. KEYS: the state hash holding `seq` first, the tournament
# hash and the tournament's history stream last. ARGV[1] stream, ARGV[2] and ARGV[3] pub/sub
# channels of the rooms ('' for none), ARGV[4] TTL of the state in seconds, ARGV[5] history length,
# ARGV[6] history age in ms. Script-specific arguments start at ARGV[7].
# Every published frame is also appended to the tournament's history (for resuming clients), so
# history order is publish order; the epoch is set once and survives as long as the state does.
# The last published frame that carries a score is kept as `shown`: what every client displays at
# that sequence, which snapshots must agree with.
_PRELUDE = (
    _NOW
    + f"""
local message_type = '{FRAME_MESSAGE_TYPE}'
local stream, room1, room2, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local history_length, history_age = tonumber(ARGV[5]), tonumber(ARGV[6])
local tournament_key, history_key = KEYS[#KEYS - 1], KEYS[#KEYS]
local function publish(head, tail, shows_score)
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  local frame = head .. seq .. tail
  if shows_score then redis.call('HSET', KEYS[1], 'shown', frame) end
  local message = cjson.encode({{type = message_type, stream = stream, sequence = seq, frame = frame}})
  redis.call('PUBLISH', room1, message)
  if room2 ~= '' then redis.call('PUBLISH', room2, message) end
  redis.call('HSETNX', tournament_key, 'epoch', t[1] .. '-' .. t[2])
  redis.call('EXPIRE', tournament_key, ttl)
  redis.call('XADD', history_key, 'MAXLEN', history_length, '*', 's', stream, 'q', seq, 'f', frame)
  redis.call('XTRIM', history_key, 'MINID', (now - history_age) .. '-0')
  redis.call('EXPIRE', history_key, ttl)
  return seq
end
"""
)

# Latest wins: store the newest score; open a batch (and ask the caller to schedule its flush one
# window later) only when none is pending, or when the pending one is older than max-wait: its flush
# task was lost or is stuck, so schedule one now. This is the per-update hot path: it publishes
# nothing, so it takes no prelude. KEYS: match hash, pending zset.
# ARGV: pending member, version, head, tail, window, max_wait, ttl.
# Returns {status, token, delay_ms}; status is schedule | coalesced | stale | closed.
_SUBMIT = (
    _NOW
    + """
local member, version, head, tail = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local window, max_wait, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local st = redis.call('HMGET', KEYS[1], 'done', 'ver', 'pending', 'since')
if st[1] == '1' then return {'closed', 0, 0} end
if st[2] and version <= tonumber(st[2]) then return {'stale', 0, 0} end
redis.call('HSET', KEYS[1], 'ver', version, 'head', head, 'tail', tail)
if st[3] == '1' and now - tonumber(st[4]) < max_wait then return {'coalesced', 0, 0} end
local delay = window
if st[3] == '1' then delay = 0 end
local token = redis.call('HINCRBY', KEYS[1], 'token', 1)
redis.call('HSET', KEYS[1], 'pending', '1', 'since', now)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now, member)
return {'schedule', token, delay}
"""
)

# Publish the pending score if the caller's token is still current ('' = whatever is pending: the
# sweep). A second run of the same task finds nothing pending and does nothing.
# KEYS: match hash, pending zset, (prelude's). ARGV[7..]: pending member, token. Returns the sequence, or 0.
_FLUSH = (
    _PRELUDE
    + """
local member, token = ARGV[7], ARGV[8]
local st = redis.call('HMGET', KEYS[1], 'done', 'pending', 'token', 'head', 'tail')
if st[1] == '1' or st[2] ~= '1' then
  redis.call('ZREM', KEYS[2], member)
  return 0
end
if token ~= '' and token ~= st[3] then return 0 end
redis.call('HSET', KEYS[1], 'pending', '0')
redis.call('ZREM', KEYS[2], member)
redis.call('EXPIRE', KEYS[1], ttl)
return publish(st[4], st[5], true)
"""
)

# Completion: publish the pending score (if any) and then match_completed, mark the match done so
# no later flush or update publishes anything. KEYS: match hash, pending zset, (prelude's).
# ARGV[7..]: pending member, head, tail of match_completed. Returns the sequences published, in order.
_COMPLETE = (
    _PRELUDE
    + """
local member, head, tail = ARGV[7], ARGV[8], ARGV[9]
local st = redis.call('HMGET', KEYS[1], 'done', 'pending', 'head', 'tail')
if st[1] == '1' then return {} end
local published = {}
if st[2] == '1' then published[#published + 1] = publish(st[3], st[4], true) end
redis.call('HSET', KEYS[1], 'done', '1', 'pending', '0')
redis.call('ZREM', KEYS[2], member)
published[#published + 1] = publish(head, tail, true)
redis.call('EXPIRE', KEYS[1], ttl)
return published
"""
)

# Any other event: next sequence of the hash, publish. KEYS: state hash, (prelude's).
# ARGV[7..]: head, tail, '1' if the frame carries the match's score.
_EMIT = (
    _PRELUDE
    + """
local seq = publish(ARGV[7], ARGV[8], ARGV[9] == '1')
redis.call('EXPIRE', KEYS[1], ttl)
return seq
"""
)

# Members of the pending zset whose batch opened more than max_wait ms ago. ARGV: max_wait, limit.
_OVERDUE = (
    _NOW
    + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
"""
)


# Presence: members carry their own expiry, so a process that dies stops being counted within one
# TTL without anybody cleaning up after it. KEYS: presence sets. ARGV: ttl_ms, then members (refresh:
# one member per key, in order). Counting drops expired members first.
_VIEWERS_REFRESH = (
    _NOW
    + """
local expires = now + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, expires, ARGV[i + 1])
  if redis.call('PTTL', key) < tonumber(ARGV[1]) * 2 then redis.call('PEXPIRE', key, tonumber(ARGV[1]) * 2) end
end
return #KEYS
"""
)

_VIEWERS_COUNT = (
    _NOW
    + """
local counts = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  counts[i] = redis.call('ZCARD', key)
end
return counts
"""
)


@dataclass(frozen=True)
class Submitted:
    status: str  # schedule | coalesced | stale | closed
    token: int
    delay_ms: int

    @property
    def needs_flush_task(self) -> bool:
        return self.status == "schedule"


@functools.cache
def client() -> redis.Redis:
    """The process's Redis client (thread-safe pool). Fails fast: callers turn errors into 503s."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
    )


@functools.cache
def _scripts() -> dict[str, redis.commands.core.Script]:
    # Script objects run EVALSHA and reload the script by themselves after a Redis restart.
    redis_client = client()
    return {
        name: redis_client.register_script(source)
        for name, source in {
            "submit": _SUBMIT,
            "flush": _FLUSH,
            "complete": _COMPLETE,
            "emit": _EMIT,
            "overdue": _OVERDUE,
            "viewers_refresh": _VIEWERS_REFRESH,
            "viewers_count": _VIEWERS_COUNT,
        }.items()
    }


def _publish_args(stream: str, tournament_id: int, second_room: str) -> list:
    return [
        stream,
        group_channel(tournament_group(tournament_id)),
        group_channel(second_room) if second_room else "",
        settings.REALTIME_STATE_TTL_S,
        settings.REALTIME_HISTORY_LENGTH,
        settings.REALTIME_HISTORY_AGE_S * 1000,
    ]


def _match_args(match_id: int, tournament_id: int) -> list:
    return _publish_args(match_stream(match_id), tournament_id, match_group(match_id))


def _match_keys(match_id: int, tournament_id: int) -> list[str]:
    return [match_key(match_id), PENDING_KEY, tournament_key(tournament_id), history_key(tournament_id)]


def submit_score(match_id: int, tournament_id: int, version: int, frame: FrameTemplate) -> Submitted:
    """Record the latest score frame of a match (one round trip)."""
    status, token, delay = _scripts()["submit"](
        keys=[match_key(match_id), PENDING_KEY],
        args=[
            _pending_member(match_id, tournament_id),
            version,
            frame.head,
            frame.tail,
            settings.REALTIME_WINDOW_MS,
            settings.REALTIME_MAX_WAIT_MS,
            settings.REALTIME_STATE_TTL_S,
        ],
    )
    return Submitted(status.decode(), int(token), int(delay))


def flush(match_id: int, tournament_id: int, token: int | None) -> int:
    """Publish the match's pending score if `token` is current (None: whatever is pending)."""
    return int(
        _scripts()["flush"](
            keys=_match_keys(match_id, tournament_id),
            args=[
                *_match_args(match_id, tournament_id),
                _pending_member(match_id, tournament_id),
                "" if token is None else str(token),
            ],
        )
    )


def complete(match_id: int, tournament_id: int, frame: FrameTemplate) -> list[int]:
    """Publish the pending score, then `frame` (match_completed); close the match to updates."""
    published = _scripts()["complete"](
        keys=_match_keys(match_id, tournament_id),
        args=[*_match_args(match_id, tournament_id), _pending_member(match_id, tournament_id), frame.head, frame.tail],
    )
    return [int(seq) for seq in published]


def emit_match_event(match_id: int, tournament_id: int, frame: FrameTemplate) -> int:
    return int(
        _scripts()["emit"](
            keys=[match_key(match_id), tournament_key(tournament_id), history_key(tournament_id)],
            args=[*_match_args(match_id, tournament_id), frame.head, frame.tail, "1" if frame.shows_score else "0"],
        )
    )


def emit_tournament_event(tournament_id: int, frame: FrameTemplate) -> int:
    key = tournament_key(tournament_id)
    return int(
        _scripts()["emit"](
            keys=[key, key, history_key(tournament_id)],
            args=[*_publish_args(tournament_stream(tournament_id), tournament_id, ""), frame.head, frame.tail, "0"],
        )
    )


def overdue_batches(max_wait_ms: int, limit: int = 1000) -> list[tuple[int, int]]:
    """(match_id, tournament_id) of pending batches opened more than `max_wait_ms` ago."""
    members = _scripts()["overdue"](keys=[PENDING_KEY], args=[max_wait_ms, limit])
    return [tuple(int(part) for part in member.split(b":")) for member in members]


@dataclass(frozen=True)
class Position:
    """Where a tournament's realtime state stands: its epoch and the latest sequence of each stream."""

    epoch: str
    sequences: dict[str, int]  # stream ("t:<id>", "m:<id>") -> latest sequence, 0 if none yet
    shown_scores: dict[int, tuple[int, int]] = field(default_factory=dict)  # match -> last published score

    def of_tournament(self, tournament_id: int) -> int:
        return self.sequences.get(tournament_stream(tournament_id), 0)

    def of_match(self, match_id: int) -> int:
        return self.sequences.get(match_stream(match_id), 0)


def position(tournament_id: int, match_ids: list[int]) -> Position:
    """The epoch and latest sequences of the tournament and of the given matches."""
    pipe = client().pipeline(transaction=False)
    _read_position(pipe, tournament_id, match_ids)
    return _position(tournament_id, match_ids, pipe.execute())


def history(tournament_id: int, match_ids: list[int]) -> tuple[Position, list[tuple[str, int, str]]]:
    """Position and the history's (stream, sequence, frame) entries, oldest first, read atomically."""
    pipe = client().pipeline(transaction=True)
    _read_position(pipe, tournament_id, match_ids)
    pipe.xrange(history_key(tournament_id))
    *replies, entries = pipe.execute()
    return _position(tournament_id, match_ids, replies), [
        (fields[b"s"].decode(), int(fields[b"q"]), fields[b"f"].decode()) for _, fields in entries
    ]


def _read_position(pipe, tournament_id: int, match_ids: list[int]) -> None:
    pipe.hmget(tournament_key(tournament_id), "epoch", "seq")
    for match_id in match_ids:
        pipe.hmget(match_key(match_id), "seq", "shown")


def _position(tournament_id: int, match_ids: list[int], replies: list) -> Position:
    (epoch, tournament_seq), *matches = replies
    sequences = {tournament_stream(tournament_id): int(tournament_seq or 0)}
    shown_scores = {}
    for match_id, (seq, shown) in zip(match_ids, matches, strict=True):
        sequences[match_stream(match_id)] = int(seq or 0)
        if shown:
            data = json.loads(shown)["data"]
            shown_scores[match_id] = (data["participant1_score"], data["participant2_score"])
    return Position(epoch=(epoch or b"").decode(), sequences=sequences, shown_scores=shown_scores)


def viewers_refresh(memberships: list[tuple[str, str]], ttl_ms: int) -> None:
    """Mark (room, channel name) memberships present for another `ttl_ms` (one round trip)."""
    if memberships:
        _scripts()["viewers_refresh"](
            keys=[viewers_key(room) for room, _ in memberships], args=[ttl_ms, *(member for _, member in memberships)]
        )


def viewers_leave(room: str, member: str) -> None:
    client().zrem(viewers_key(room), member)


def viewer_counts(rooms: list[str]) -> dict[str, int]:
    """How many live connections each room has right now."""
    if not rooms:
        return {}
    counts = _scripts()["viewers_count"](keys=[viewers_key(room) for room in rooms], args=[])
    return dict(zip(rooms, map(int, counts), strict=True))
