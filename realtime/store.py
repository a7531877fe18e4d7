"""The one place that knows the realtime Redis keys and Lua scripts.

Keys (all under `rt:`, all expiring; idle matches cost nothing):
  rt:match:<id>        hash   seq, token, pending, since, done, ver, tid, head, tail
  rt:tournament:<id>   hash   seq
  rt:pending           zset   "<match_id>:<tournament_id>" -> when its pending batch opened (ms)

Every script that assigns a sequence also PUBLISHes the frame carrying it, in the same atomic step,
to the channel-layer groups of the rooms (channels_redis' pub/sub layer: one Redis channel per
group). Redis runs scripts one at a time, so the order in which sequences are assigned is the
order in which frames are published: a flush and a completion racing in different processes can
never publish a score after the completion (docs/architecture.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

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


def _pending_member(match_id: int, tournament_id: int) -> str:
    return f"{match_id}:{tournament_id}"


# Shared by every script that publishes: ARGV[1] stream, ARGV[2] and ARGV[3] pub/sub channels of the rooms ('' for
# none), ARGV[4] TTL of the state hash in seconds. Script-specific arguments start at ARGV[5].
_PRELUDE = """
local stream, room1, room2, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function publish(head, tail)
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  local message = cjson.encode({type = 'realtime.frame', stream = stream, sequence = seq,
                                frame = head .. seq .. tail})
  redis.call('PUBLISH', room1, message)
  if room2 ~= '' then redis.call('PUBLISH', room2, message) end
  return seq
end
"""

# Latest wins: store the newest score; open a batch (and ask the caller to schedule its flush one
# window later) only when none is pending, or when the pending one is older than max-wait: its flush
# task was lost or is stuck, so schedule one now. This is the per-update hot path: it publishes
# nothing, so it takes no prelude. KEYS: match hash, pending zset.
# ARGV: pending member, version, head, tail, window, max_wait, ttl.
# Returns {status, token, delay_ms}; status is schedule | coalesced | stale | closed.
_SUBMIT = """
local member, version, head, tail = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local window, max_wait, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local st = redis.call('HMGET', KEYS[1], 'done', 'ver', 'pending', 'since')
if st[1] == '1' then return {'closed', 0, 0} end
if st[2] and version <= tonumber(st[2]) then return {'stale', 0, 0} end
redis.call('HSET', KEYS[1], 'ver', version, 'head', head, 'tail', tail)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if st[3] == '1' and now - tonumber(st[4]) < max_wait then return {'coalesced', 0, 0} end
local delay = window
if st[3] == '1' then delay = 0 end
local token = redis.call('HINCRBY', KEYS[1], 'token', 1)
redis.call('HSET', KEYS[1], 'pending', '1', 'since', now)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now, member)
return {'schedule', token, delay}
"""

# Publish the pending score if the caller's token is still current ('' = whatever is pending: the
# sweep). A second run of the same task finds nothing pending and does nothing.
# KEYS: match hash, pending zset. ARGV[5..]: pending member, token. Returns the sequence, or 0.
_FLUSH = (
    _PRELUDE
    + """
local member, token = ARGV[5], ARGV[6]
local st = redis.call('HMGET', KEYS[1], 'done', 'pending', 'token', 'head', 'tail')
if st[1] == '1' or st[2] ~= '1' then
  redis.call('ZREM', KEYS[2], member)
  return 0
end
if token ~= '' and token ~= st[3] then return 0 end
redis.call('HSET', KEYS[1], 'pending', '0')
redis.call('ZREM', KEYS[2], member)
redis.call('EXPIRE', KEYS[1], ttl)
return publish(st[4], st[5])
"""
)

# Completion: publish the pending score (if any) and then match_completed, mark the match done so
# no later flush or update publishes anything. KEYS: match hash, pending zset.
# ARGV[5..]: pending member, head, tail of match_completed. Returns the sequences published, in order.
_COMPLETE = (
    _PRELUDE
    + """
local member, head, tail = ARGV[5], ARGV[6], ARGV[7]
local st = redis.call('HMGET', KEYS[1], 'done', 'pending', 'head', 'tail')
if st[1] == '1' then return {} end
local published = {}
if st[2] == '1' then published[#published + 1] = publish(st[3], st[4]) end
redis.call('HSET', KEYS[1], 'done', '1', 'pending', '0')
redis.call('ZREM', KEYS[2], member)
published[#published + 1] = publish(head, tail)
redis.call('EXPIRE', KEYS[1], ttl)
return published
"""
)

# Any other event: next sequence of the hash, publish. KEYS: state hash. ARGV[5..]: head, tail.
_EMIT = (
    _PRELUDE
    + """
local seq = publish(ARGV[5], ARGV[6])
redis.call('EXPIRE', KEYS[1], ttl)
return seq
"""
)

# Members of the pending zset whose batch opened more than max_wait ms ago. ARGV: max_wait, limit.
_OVERDUE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
"""


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
        }.items()
    }


def _match_args(match_id: int, tournament_id: int) -> list:
    return [
        match_stream(match_id),
        group_channel(tournament_group(tournament_id)),
        group_channel(match_group(match_id)),
        settings.REALTIME_STATE_TTL_S,
    ]


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
            keys=[match_key(match_id), PENDING_KEY],
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
        keys=[match_key(match_id), PENDING_KEY],
        args=[*_match_args(match_id, tournament_id), _pending_member(match_id, tournament_id), frame.head, frame.tail],
    )
    return [int(seq) for seq in published]


def emit_match_event(match_id: int, tournament_id: int, frame: FrameTemplate) -> int:
    return int(
        _scripts()["emit"](
            keys=[match_key(match_id)], args=[*_match_args(match_id, tournament_id), frame.head, frame.tail]
        )
    )


def emit_tournament_event(tournament_id: int, frame: FrameTemplate) -> int:
    args = [
        tournament_stream(tournament_id),
        group_channel(tournament_group(tournament_id)),
        "",
        settings.REALTIME_STATE_TTL_S,
        frame.head,
        frame.tail,
    ]
    return int(_scripts()["emit"](keys=[tournament_key(tournament_id)], args=args))


def overdue_batches(max_wait_ms: int, limit: int = 1000) -> list[tuple[int, int]]:
    """(match_id, tournament_id) of pending batches opened more than `max_wait_ms` ago."""
    members = _scripts()["overdue"](keys=[PENDING_KEY], args=[max_wait_ms, limit])
    return [tuple(int(part) for part in member.split(b":")) for member in members]


def sequences(tournament_id: int, match_ids: list[int]) -> tuple[int, dict[int, int]]:
    """Latest sequence of the tournament and of each match (0 when nothing was published yet)."""
    pipe = client().pipeline(transaction=False)
    pipe.hget(tournament_key(tournament_id), "seq")
    for match_id in match_ids:
        pipe.hget(match_key(match_id), "seq")
    tournament_seq, *match_seqs = pipe.execute()
    return int(tournament_seq or 0), {
        match_id: int(seq or 0) for match_id, seq in zip(match_ids, match_seqs, strict=True)
    }
