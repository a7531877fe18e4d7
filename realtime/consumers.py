"""WebSocket rooms: `ws/tournament/<id>/` and `ws/match/<id>/` (docs/protocol.md).

On connect a consumer joins its room's group first and reads the snapshot second, so an event
published meanwhile is either in the snapshot (its sequence is not above the snapshot's, and it
is dropped) or after it. From then on a frame whose sequence is not above the last one this
socket forwarded for that match (or tournament) is dropped: clients never see stale, duplicate
or reordered frames, whatever the interleaving of publishers.
"""

from __future__ import annotations

import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from tournaments import selectors

from . import store
from .events import Control, error_frame, frame

# Close codes (docs/protocol.md): 4403 and 4404 mean "do not reconnect".
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_FRAMES = 4429
MAX_CLIENT_FRAME_CHARS = 4096


class TokenBucket:
    """`rate` frames per second on average, bursts of up to `burst`."""

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
    """Common behaviour of both rooms; subclasses say which group and which snapshot."""

    async def connect(self) -> None:
        self.room_id: int = self.scope["url_route"]["kwargs"]["room_id"]
        self.group: str | None = None
        self.last_sequence: dict[str, int] = {}
        self.bucket = TokenBucket(settings.REALTIME_CLIENT_RATE, settings.REALTIME_CLIENT_BURST)
        self.refused_frames = 0

        access = await database_sync_to_async(self.access)(self.scope.get("user"))
        # Accept first, then close with a code: a refused handshake cannot carry a reason, and the
        # client must know not to retry (4403/4404) rather than back off and retry forever.
        await self.accept()
        if access is not selectors.Access.ALLOWED:
            code = CLOSE_NOT_FOUND if access is selectors.Access.NOT_FOUND else CLOSE_FORBIDDEN
            await self.close(code=code)
            return

        self.group = self.group_name()
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await database_sync_to_async(self.snapshot)()
        self.last_sequence = self.sequences_of(snapshot)
        await self.send(text_data=frame(Control.SNAPSHOT, snapshot))

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.bucket.take():
            self.refused_frames += 1
            if self.refused_frames == 1:
                await self.send(text_data=error_frame("rate_limited", "Too many frames; slow down."))
            elif self.refused_frames > settings.REALTIME_CLIENT_BURST:
                await self.close(code=CLOSE_TOO_MANY_FRAMES)
            return
        self.refused_frames = 0
        if text_data is None:
            await self.send(text_data=error_frame("binary_unsupported", "Send JSON text frames."))
            return
        if len(text_data) > MAX_CLIENT_FRAME_CHARS:
            await self.send(
                text_data=error_frame("too_large", f"Frames are limited to {MAX_CLIENT_FRAME_CHARS} characters.")
            )
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send(text_data=error_frame("bad_json", "The frame is not valid JSON."))
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.send(text_data=error_frame("bad_frame", 'Expected an object like {"type": "ping"}.'))
            return
        if message["type"] == "ping":
            await self.send(text_data=frame(Control.PONG))
        else:
            await self.send(text_data=error_frame("unknown_type", f"Unknown frame type {message['type'][:50]!r}."))

    async def realtime_frame(self, message: dict) -> None:
        """A frame published by a realtime script (store.FRAME_MESSAGE_TYPE); forwarded as is."""
        stream, sequence = message["stream"], message["sequence"]
        if sequence <= self.last_sequence.get(stream, 0):
            return
        self.last_sequence[stream] = sequence
        await self.send(text_data=message["frame"])

    # --- what differs between rooms ---
    def access(self, user) -> selectors.Access:
        raise NotImplementedError

    def group_name(self) -> str:
        raise NotImplementedError

    def snapshot(self) -> dict:
        raise NotImplementedError

    @staticmethod
    def sequences_of(snapshot: dict) -> dict[str, int]:
        raise NotImplementedError


class TournamentConsumer(RoomConsumer):
    def access(self, user) -> selectors.Access:
        return selectors.tournament_access(self.room_id, user)

    def group_name(self) -> str:
        return store.tournament_group(self.room_id)

    def snapshot(self) -> dict:
        return selectors.tournament_detail(self.room_id)

    @staticmethod
    def sequences_of(snapshot: dict) -> dict[str, int]:
        tournament = snapshot["tournament"]
        sequences = {store.tournament_stream(tournament["id"]): tournament["sequence"]}
        for match in snapshot["matches"]:
            sequences[store.match_stream(match["id"])] = match["sequence"]
        return sequences


class MatchConsumer(RoomConsumer):
    def access(self, user) -> selectors.Access:
        return selectors.match_access(self.room_id, user)

    def group_name(self) -> str:
        return store.match_group(self.room_id)

    def snapshot(self) -> dict:
        return selectors.match_detail(self.room_id)

    @staticmethod
    def sequences_of(snapshot: dict) -> dict[str, int]:
        match = snapshot["match"]
        return {store.match_stream(match["id"]): match["sequence"]}
