"""Server-sent events: `GET /sse/tournament/<id>/` and `/sse/match/<id>/` (docs/protocol.md "Server-sent
events"), for clients behind proxies that block WebSockets.

The same snapshot and frames as the WebSocket rooms, conflated the same way: a stream is one more
listener of this process's fan-out (realtime/fanout.py), fed by the channel layer, registered before
its snapshot is read exactly as a socket is. Each event's `id` is `<epoch>:<history entry>`: where
the client resumes (the browser sends it back as Last-Event-ID when it reconnects). The frames it
missed are replayed from the history if the history still holds all of them, else it gets a fresh
snapshot. A comment line every SSE_HEARTBEAT_S keeps proxies from closing an idle stream. The same
access rules as the rooms, checked again on `recheck` frames; the same connection limits and
presence (a stream counts as a viewer).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse

from project import metrics

from . import snapshots
from .auth import may_still_watch, may_watch
from .consumers import limits
from .events import Control, encode, encode_error
from .fanout import hub
from .presence import tracker
from .sinks import OutgoingFrame
from .store import history, keys
from .store.history import entry_order, successor
from .store.keys import Room, RoomKind

logger = logging.getLogger(__name__)

MAX_QUEUED = 512  # frames waiting for a client before it counts as not reading (then it is dropped)


class StreamListener:
    """One event stream as the fan-out sees it (a fanout.Listener, and its own sink)."""

    wants_resume_ids = True  # the fan-out stamps each frame with where a client resumes (its event id)

    def __init__(self) -> None:
        self.sink = self
        self.inbox: asyncio.Queue[tuple] = asyncio.Queue()
        self.queued_frames = 0

    def deliver(self, frame: OutgoingFrame) -> bool:
        if self.queued_frames >= MAX_QUEUED:
            return False
        self.queued_frames += 1
        self.inbox.put_nowait(("frame", frame.text, frame.resume_from))
        return True

    def recheck(self, answers: dict) -> None:
        self.inbox.put_nowait(("recheck", answers))

    def dropped(self) -> None:
        self.inbox.put_nowait(("end", "slow"))

    def lost_frames(self) -> None:
        self.inbox.put_nowait(("end", "resubscribed"))  # the browser reconnects and resumes


def event(data: str, event_id: str | None = None) -> bytes:
    """One event: the frame's JSON on one data line (JSON text holds no raw newline)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {data}\n\n".encode()


def parse_last_event_id(raw: str | None) -> tuple[str, str] | None:
    """(epoch, history entry) from "<epoch>:<ms>-<n>"; None if absent or malformed."""
    if not raw or len(raw) > 200:
        return None
    epoch, _, entry = raw.rpartition(":")
    try:
        entry_order(entry)
    except ValueError:
        return None
    return (epoch, entry) if entry else None


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


async def tournament_events(request: HttpRequest, tournament_id: int):
    return await serve(request, RoomKind.TOURNAMENT, tournament_id)


async def match_events(request: HttpRequest, match_id: int):
    return await serve(request, RoomKind.MATCH, match_id)


async def serve(request: HttpRequest, kind: RoomKind, room_id: int):
    await database_sync_to_async(keys.namespace)()  # read once per process, before any key is named
    room = Room(kind, room_id)
    user = await request.auser()
    if not await database_sync_to_async(may_watch)(room, user):
        return _error(404, "not_found", f"No such {room.kind}.")  # private ones of others too
    try:
        await hub.available()
    except redis.RedisError:
        return _error(503, "unavailable", "Live scores are unavailable; retry shortly.")
    address = request.META.get("REMOTE_ADDR") or "unknown"
    if not limits.acquire(address):
        return _error(503, "too_many_connections", "This server holds as many connections as it allows; retry later.")
    resume = parse_last_event_id(request.headers.get("Last-Event-ID") or request.GET.get("lastEventId"))
    response = StreamingHttpResponse(_stream(room, user, address, resume), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


async def _stream(room: Room, user, address: str, resume: tuple[str, str] | None) -> AsyncIterator[bytes]:
    listener = StreamListener()
    connection_id = uuid.uuid4().hex
    joined = False
    try:
        yield b"retry: 2000\n\n"  # the browser's reconnection delay
        await hub.join(room, listener)
        joined = True
        metrics.OPEN_CONNECTIONS.labels(room.kind.value, "sse").inc()
        await tracker.join(room, connection_id)
        epoch, sequences, events = await _catch_up(room, resume)
        for chunk in events:
            yield chunk
        hub.go_live(room, listener, sequences)
        while True:
            try:
                message = await asyncio.wait_for(listener.inbox.get(), settings.SSE_HEARTBEAT_S)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if message[0] == "frame":
                listener.queued_frames -= 1
                _, text, resume_from = message
                yield event(text, f"{epoch}:{resume_from}" if resume_from else None)
            elif message[0] == "recheck":
                if not await may_still_watch(room, user, message[1]):
                    yield event(encode_error("not_found", "You may no longer watch this."))
                    return
                hub.checked(room, listener)
            else:
                return
    except redis.RedisError as error:
        logger.warning("ending an event stream while Redis is unavailable: %s", error)
        yield event(encode_error("unavailable", "Live scores are unavailable; reconnecting resumes."))
    finally:
        if joined:
            metrics.OPEN_CONNECTIONS.labels(room.kind.value, "sse").dec()
            await tracker.leave(room, connection_id)
            await hub.leave(room, listener)
        limits.release(address)


async def _catch_up(room: Room, resume: tuple[str, str] | None) -> tuple[str, dict[str, int], list[bytes]]:
    """(epoch, position, events): the frames missed since `resume` if the history holds all of them,
    else a snapshot."""
    room_scope = await database_sync_to_async(snapshots.scope)(room)
    if resume is not None:
        epoch, since = resume
        position, entries = await asyncio.to_thread(
            history.history, room_scope.tournament_id, room_scope.match_ids, since
        )
        oldest = await asyncio.to_thread(history.oldest_entry, room_scope.tournament_id)
        if epoch == position.epoch and oldest and entry_order(oldest) <= entry_order(since):
            replayed = [entry for entry in entries if entry.stream in room_scope.streams]
            events = [event(encode(Control.RESUMED, {"epoch": epoch, "replayed": len(replayed)}), f"{epoch}:{since}")]
            events += [event(entry.frame, f"{epoch}:{successor(entry.id)}") for entry in replayed]
            return epoch, position.restricted_to(room_scope.streams).sequences, events
    snapshot = await database_sync_to_async(snapshots.take)(room, with_history_id=True)
    position = snapshot.position
    start = successor(position.last_history_id) if position.last_history_id else "0-0"
    frame = encode(Control.SNAPSHOT, {**snapshot.document, "resume_failed": resume is not None})
    return position.epoch, position.sequences, [event(frame, f"{position.epoch}:{start}")]
