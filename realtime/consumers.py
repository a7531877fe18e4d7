"""WebSocket rooms: `ws/tournament/<id>/` and `ws/match/<id>/` (docs/protocol.md).

A consumer serves one client: the handshake, the access check, the snapshot (or the replay of what a
resuming client missed), pings and errors. Frames published to its room reach it through this
process's fan-out (realtime/fanout.py), which writes them to the socket directly: a consumer has no
channel-layer channel of its own. Register, then fetch: it joins the fan-out before it reads the
snapshot, and goes live with the snapshot's position, so the client gets every frame published after
that position and none at or below it, per stream, in order.

A connection counts (as a spectator, and against the connection limits) exactly while it is open:
it leaves before the server closes it, and whatever way its consumer ends — a close by either
side, a dropped client, a crash — `__call__`'s `finally` takes it out.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import NoReturn
from urllib.parse import parse_qs

import redis
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from project import metrics

from . import snapshots
from .auth import may_still_watch, may_watch
from .events import Control, encode, encode_error, parse_client_json
from .fanout import hub
from .handshake import refuse
from .presence import tracker
from .resume import ResumeRequest, missed_frames
from .sinks import NOTIFY_EXTENSION, Sink, sink_for
from .store import history, keys
from .store.keys import Room, RoomKind

logger = logging.getLogger(__name__)

# Close codes (docs/protocol.md): 4404 means "do not reconnect"; 1013 "try again later"; 1012
# "reconnect and resume" (frames may have been lost while this server's link to Redis was cut).
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_FRAMES = 4429
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_RESUME = 1012
MAX_CLIENT_FRAME_CHARS = 4096


class ConnectionLimits:
    """This process's open connections, in all and per client address (REALTIME_MAX_CONNECTIONS*)."""

    def __init__(self) -> None:
        self.total = 0
        self.by_address: Counter[str] = Counter()

    def acquire(self, address: str) -> bool:
        if self.total >= settings.REALTIME_MAX_CONNECTIONS:
            logger.warning("refusing a WebSocket connection: %d open (REALTIME_MAX_CONNECTIONS)", self.total)
            return False
        if self.by_address[address] >= settings.REALTIME_MAX_CONNECTIONS_PER_ADDRESS:
            # Behind a proxy that uvicorn does not trust (FORWARDED_ALLOW_IPS), every client has the
            # proxy's address: say so, it is the likeliest cause of hitting this.
            logger.warning(
                "refusing a WebSocket connection from %s: %d open from it (REALTIME_MAX_CONNECTIONS_PER_ADDRESS;"
                " behind a proxy, FORWARDED_ALLOW_IPS must name it)",
                address,
                self.by_address[address],
            )
            return False
        self.total += 1
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.total -= 1
        self.by_address[address] -= 1
        if not self.by_address[address]:
            del self.by_address[address]


limits = ConnectionLimits()


class TokenBucket:
    """`rate` frames per second on average, bursts of up to `burst`."""

    __slots__ = ("rate", "burst", "tokens", "updated")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class RoomConsumer(AsyncWebsocketConsumer):
    """Common behaviour of both rooms; subclasses say which kind of room and who may watch it."""

    room_kind: RoomKind
    # No channel layer and no groups of its own (the fan-out holds the room): class attributes, so an
    # instance does not carry them.
    channel_layer = None
    groups = ()
    joined = False  # in the room's fan-out and counted as a spectator
    address: str | None = None  # counted against the connection limits under this client address
    sink: Sink  # how the fan-out writes frames to this client
    notify: Callable[[dict], None]  # hands the fan-out's messages to this consumer's loop

    async def __call__(self, scope, receive, send) -> None:
        """Channels' AsyncConsumer.__call__ without a channel-layer channel: the client's messages,
        and the fan-out's (access re-checks, drops), handled one at a time in the order they came.

        Under our uvicorn protocol the fan-out's messages go into the connection's own receive queue
        (`NOTIFY_EXTENSION`), so a consumer is this one loop: no task or queue of its own. Under any
        other ASGI server they wait in a queue of the consumer's, read beside `receive` by two tasks."""
        self.scope = scope
        self.base_send = send
        self.sink = sink_for(scope, send)
        self.notify = scope.get("extensions", {}).get(NOTIFY_EXTENSION)
        try:
            await hub.available()
        except redis.RedisError as error:
            logger.warning("refusing a WebSocket handshake while Redis is unavailable: %s", error)
            await refuse(scope, receive, send, 503, "unavailable", "Live scores are unavailable; retry shortly.")
            return
        try:
            if self.notify is not None:
                while True:
                    await self.dispatch(await receive())
            else:
                inbox: asyncio.Queue[dict] = asyncio.Queue()
                self.notify = inbox.put_nowait
                await await_many_dispatch([receive, inbox.get], self.dispatch)
        except StopConsumer:
            pass
        finally:
            await self.release()

    async def connect(self) -> None:
        await database_sync_to_async(keys.namespace)()  # read once per process, before any key is named
        self.room = Room(self.room_kind, self.scope["url_route"]["kwargs"]["room_id"])
        self.connection_id = uuid.uuid4().hex  # its entry in the room's presence
        self.bucket = TokenBucket(settings.REALTIME_CLIENT_RATE, settings.REALTIME_CLIENT_BURST)
        self.refused_frames = 0

        # Accept first, then close with a code: a refused handshake cannot carry a reason, and the
        # client must know whether to retry later (1013) or not at all (4404).
        await self.accept()
        address = (self.scope.get("client") or ("unknown",))[0]
        if not limits.acquire(address):
            await self.close_and_stop(CLOSE_TRY_AGAIN_LATER)
        self.address = address
        # Private rooms of others are "not found" too: their ids leak nothing.
        if not await database_sync_to_async(may_watch)(self.room, self.scope.get("user")):
            await self.close_and_stop(CLOSE_NOT_FOUND)

        self.joined = True  # from here on, whatever fails, leave_room undoes what was done
        metrics.OPEN_CONNECTIONS.labels(self.room_kind.value, "websocket").inc()
        try:
            await hub.join(self.room, self)
            await tracker.join(self.room, self.connection_id)
            position = await self.catch_up(self.resume_param())
            hub.go_live(self.room, self, position)
        except ObjectDoesNotExist:  # deleted since the access check (a regenerated bracket)
            await self.close_and_stop(CLOSE_NOT_FOUND)  # the room is gone
        except redis.RedisError as error:  # Redis is away: the client retries later, and resumes
            logger.warning("refusing a WebSocket connection while Redis is unavailable: %s", error)
            await self.close_and_stop(CLOSE_TRY_AGAIN_LATER)

    async def catch_up(self, resume: str | None) -> dict[str, int]:
        """What the client missed, if it asked to resume and the history holds all of it; else a
        snapshot. Returns the position (stream -> sequence) the client is at now."""
        if resume is not None and (position := await self.replay(resume)) is not None:
            return position
        snapshot = await database_sync_to_async(snapshots.take)(self.room)
        await self.send(text_data=encode(Control.SNAPSHOT, {**snapshot.document, "resume_failed": resume is not None}))
        return snapshot.position.sequences

    def resume_param(self) -> str | None:
        """The `?resume=` a reconnecting client sent, if any (docs/protocol.md "Resuming")."""
        values = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("resume")
        return values[0] if values else None

    async def replay(self, raw: str) -> dict[str, int] | None:
        """Send what the client missed, if the history still holds all of it; the position it reaches."""
        try:
            request = ResumeRequest.parse(raw)
        except ValueError as error:
            await self.send_error("bad_resume", f"{error}; sending a snapshot instead.")
            return None
        room_scope = await database_sync_to_async(snapshots.scope)(self.room)
        position, entries = await asyncio.to_thread(history.history, room_scope.tournament_id, room_scope.match_ids)
        position = position.restricted_to(room_scope.streams)
        frames = missed_frames(request, position, entries)
        if frames is None:
            return None
        await self.send(text_data=encode(Control.RESUMED, {"epoch": position.epoch, "replayed": len(frames)}))
        for text in frames:
            await self.send(text_data=text)
        return position.sequences

    async def disconnect(self, code: int) -> None:
        await self.leave_room()

    async def leave_room(self) -> None:
        """Out of the room's presence and fan-out, even while Redis is away (the presence entry then
        expires by itself within REALTIME_VIEWER_TTL_S)."""
        if self.joined:
            self.joined = False
            metrics.OPEN_CONNECTIONS.labels(self.room_kind.value, "websocket").dec()
            await tracker.leave(self.room, self.connection_id)
            await hub.leave(self.room, self)

    async def release(self) -> None:
        """Everything this connection holds: its room, its presence, its place in the limits."""
        try:
            await self.leave_room()
        finally:
            if self.address is not None:
                limits.release(self.address)
                self.address = None

    async def close_and_stop(self, code: int) -> NoReturn:
        """Stop counting this connection, close it, and stop serving it: frames it already sent are
        not looked at (a second close would be an error). The close is not waited for longer than a
        frame would be: it may never reach a client that stopped reading."""
        await self.leave_room()
        try:
            async with asyncio.timeout(settings.REALTIME_SEND_TIMEOUT_S):
                await self.close(code=code)
        except TimeoutError:
            logger.warning("closing a WebSocket client that stopped reading (%s)", self.room.group)
        raise StopConsumer()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.bucket.take():
            self.refused_frames += 1
            if self.refused_frames == 1:
                await self.send_error("rate_limited", "Too many frames; slow down.")
            elif self.refused_frames > settings.REALTIME_CLIENT_BURST:
                await self.close_and_stop(CLOSE_TOO_MANY_FRAMES)
            return
        self.refused_frames = 0
        if text_data is None:
            await self.send_error("binary_unsupported", "Send JSON text frames.")
            return
        if len(text_data) > MAX_CLIENT_FRAME_CHARS:
            await self.send_error("too_large", f"Frames are limited to {MAX_CLIENT_FRAME_CHARS} characters.")
            return
        try:
            message = parse_client_json(text_data)
        except ValueError:
            await self.send_error("bad_json", "The frame is not valid JSON.")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.send_error("bad_frame", 'Expected an object like {"type": "ping"}.')
            return
        if message["type"] == "ping":
            await self.send(text_data=encode(Control.PONG))
        else:
            await self.send_error("unknown_type", f"Unknown frame type {message['type'][:50]!r}.")

    # --- from the fan-out (realtime/fanout.py Listener) -----------------------------------------

    def recheck(self, answers: dict) -> None:
        self.notify({"type": "fanout.recheck", "answers": answers})

    def dropped(self) -> None:
        self.notify({"type": "fanout.dropped"})

    def lost_frames(self) -> None:
        self.notify({"type": "fanout.lost"})

    async def dispatch(self, message: dict) -> None:
        # Channels runs close_old_connections() in the sync thread before every handler; the fan-out's
        # messages do their own database work (or none), so they skip that thread hop.
        if message["type"] == "fanout.recheck":
            await self.recheck_access(message["answers"])
        elif message["type"] == "fanout.dropped":
            await self.drop_slow_client()
        elif message["type"] == "fanout.lost":
            await self.close_and_stop(CLOSE_RESUME)
        else:
            await super().dispatch(message)

    async def recheck_access(self, answers: dict) -> None:
        """Who may watch changed (a `recheck` frame): close with 4404 if this client no longer may;
        else the fan-out sends the frames it held meanwhile."""
        if not self.joined:
            return
        if not await may_still_watch(self.room, self.scope.get("user"), answers):
            await self.close_and_stop(CLOSE_NOT_FOUND)
        hub.checked(self.room, self)

    async def send_error(self, code: str, message: str) -> None:
        """An `error` frame about what the client sent (counted: scores_client_errors)."""
        metrics.CLIENT_ERRORS.labels(code).inc()
        await self.send(text_data=encode_error(code, message))

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        """Every frame to the client, snapshot, replay, pong and error alike, is written within
        REALTIME_SEND_TIMEOUT_S or the client is dropped: a consumer waiting on a client that stopped
        reading would stop serving its room, while the room's frames pile up for it."""
        try:
            # asyncio.timeout arms one timer handle; wait_for would wrap every send in a new Task
            async with asyncio.timeout(settings.REALTIME_SEND_TIMEOUT_S):
                await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except TimeoutError:
            await self.drop_slow_client()

    async def drop_slow_client(self) -> NoReturn:
        """The client stopped reading: its socket buffers stayed full for REALTIME_SEND_TIMEOUT_S, or
        a frame could not be written within it. Stop serving it, so frames stop queueing up for it:
        what it holds is bounded by the socket buffers plus REALTIME_SEND_TIMEOUT_S of its room's
        frames. (A close frame could not be written either: the server aborts the connection,
        project/websocket_protocol.py.)"""
        logger.warning("dropping a WebSocket client that stopped reading (%s)", self.room.group)
        await self.leave_room()
        raise StopConsumer()


class TournamentConsumer(RoomConsumer):
    room_kind = RoomKind.TOURNAMENT


class MatchConsumer(RoomConsumer):
    room_kind = RoomKind.MATCH
