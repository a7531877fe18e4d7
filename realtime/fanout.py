"""Per-process fan-out: a frame reaches an ASGI process once and is written to each local socket.

Each ASGI process has one `Hub`. It holds one channel-layer channel, in the group of every room that
has a socket in this process, so a frame published to a room (lua/lib/publish.lua) reaches the
process once, is decoded once, framed for the wire once (realtime/sinks.py) and written to every
local socket of the room. Sockets have no channel of their own and cost no channel-layer work.

Tournament rooms are conflated (`RoomFanout`): a score (a `latest_only` frame) waits in the room's
pending set, replacing the match's previous one, and goes out in one `batch` frame with every other
pending score at most once per REALTIME_ROOM_WINDOW_MS (throttled: at once if no batch went out in the
last window, else at its end). Every other frame goes out at once; the pending score of its match
goes just before it, or is dropped when the frame carries a newer score (a completion). So nothing
about a match follows its completion, and per stream a socket only ever sees increasing sequences.

Register, then fetch: a socket joins the hub (whose subscription to the room is confirmed by a probe
it publishes and receives) before its snapshot is read, and is *held* meanwhile — frames for it are
kept. When the snapshot has been sent it goes live with the snapshot's position: kept frames at or
below it are dropped, the rest written. Frames still on their way to the process that the snapshot
already reflects are dropped by the socket's `floor` until the room's stream has passed them, or until
a *barrier* comes back: a probe the hub publishes to the room once the socket went live. Everything
published before it has then reached the process, so nothing at or below the floor can still come
(without it, a stream quiet since before the process subscribed — a completed match — would keep its
floor entry for the socket's whole life: memory per socket, and a check per stream on every frame).
A socket is held the same way while its client's access is checked again (`recheck` frames).

Redis PUB/SUB is at most once: when the layer's subscriber connection is made again, what was
published meanwhile is gone and nothing says what it was. The hub is told (a redis-py connect
callback) and sends every socket of the affected rooms to resume from the history (close 1012).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from functools import partial
from typing import Protocol

import redis
from channels.layers import get_channel_layer
from django.conf import settings

from project import metrics

from .events import encode_batch
from .sinks import OutgoingFrame, Sink
from .store.history import entry_order, successor
from .store.keys import FRAME_MESSAGE_TYPE, PROBE_MESSAGE_TYPE, Room, RoomKind
from .store.scripts import client

logger = logging.getLogger(__name__)


class Published:
    """A frame as published by Redis: its stream, sequence and text, and how it may be delivered."""

    __slots__ = ("stream", "sequence", "frame", "latest_only", "scored", "recheck", "history_id")

    def __init__(
        self,
        stream: str,
        sequence: int,
        text: str,
        *,
        latest_only=False,
        scored=False,
        recheck=False,
        history_id: str = "",
    ) -> None:
        self.stream, self.sequence, self.frame = stream, sequence, OutgoingFrame(text)
        self.history_id = history_id  # its entry in the tournament's history ("<ms>-<n>")
        self.latest_only = latest_only  # only the latest of its stream matters (a live score): conflatable
        self.scored = scored  # carries the match's score (a newer one supersedes a pending score)
        self.recheck = recheck  # who may watch may have changed: every socket's access is checked again

    @classmethod
    def from_message(cls, message: dict) -> Published:
        return cls(
            message["stream"],
            message["sequence"],
            message["frame"],
            latest_only=bool(message.get("latest")),
            scored=bool(message.get("scored")),
            recheck=bool(message.get("recheck")),
            history_id=message.get("h", ""),
        )


class Batch:
    """Latest scores of several matches, in publish order, sent as one `batch` frame."""

    __slots__ = ("entries", "_frame")

    def __init__(self, entries: list[Published]) -> None:
        self.entries = entries
        self._frame: OutgoingFrame | None = None

    @property
    def frame(self) -> OutgoingFrame:
        if self._frame is None:
            self._frame = OutgoingFrame(encode_batch([entry.frame.text for entry in self.entries]))
        return self._frame


Item = Published | Batch


def above(item: Item, floor: dict[str, int]) -> Item | None:
    """`item` without what is at or below `floor` (stream -> sequence already seen); None if nothing is left."""
    if isinstance(item, Published):
        return None if item.sequence <= floor.get(item.stream, 0) else item
    kept = [entry for entry in item.entries if entry.sequence > floor.get(entry.stream, 0)]
    if len(kept) == len(item.entries):
        return item
    return Batch(kept) if kept else None


class Listener(Protocol):
    """A socket as the hub sees it (realtime/consumers.py)."""

    sink: Sink

    def recheck(self, answers: dict) -> None:
        """Check the client's access again, then call `Hub.checked` (or leave). `answers` is shared by
        every socket of the room for this one change: sockets of the same user need one check."""

    def dropped(self) -> None:
        """The client could not take a frame and was taken out of its room: stop serving it."""

    def lost_frames(self) -> None:
        """Frames for the client may have been lost (the process's subscription to Redis had to be
        made again) and it was taken out of its room: close, so that it resumes."""


class Member:
    __slots__ = ("listener", "held", "joining", "checks", "floor")

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.held: list[Item] | None = []  # frames kept while the socket is not live
        self.joining = True  # its snapshot (or replay) has not been sent yet
        self.checks = 0  # access checks under way
        self.floor: dict[str, int] | None = None  # streams whose frames up to a sequence it already has


class RoomFanout:
    """One room's sockets in this process, and what is pending for them (pure logic: no I/O)."""

    def __init__(
        self,
        room: Room,
        window_s: float | None,
        *,
        now: Callable[[], float],
        call_later: Callable[[float, Callable[[], None]], asyncio.TimerHandle],
        barrier: Callable[[Callable[[bool], None]], None] | None = None,
    ) -> None:
        self.room = room
        self.window_s = window_s  # None: not conflated (match rooms)
        self.now, self.call_later = now, call_later
        # barrier(back): publish a probe to the room, then back(True) once it arrived (back(False): it
        # could not be confirmed). None: floors are only ever passed by the frames themselves.
        self.barrier = barrier
        self.confirmed = True  # the subscription was seen live (a probe came back) since it was last made
        self.unconfirmed: list[Member] = []  # live sockets whose floors wait for the next barrier
        self.barrier_under_way = False
        self.members: dict[Listener, Member] = {}
        self.latest: dict[str, int] = {}  # stream -> latest sequence received
        self.pending: dict[str, Published] = {}  # stream -> latest score not yet batched, in publish order
        self.timer: asyncio.TimerHandle | None = None
        self.last_batch_at = float("-inf")
        self.resume_ids_wanted = 0  # members that need each frame's resume_from (server-sent events)
        self.frames_sent = metrics.FRAMES_SENT.labels(room.kind.value)

    # --- sockets ----------------------------------------------------------------------------------

    def add(self, listener: Listener) -> None:
        self.members[listener] = Member(listener)
        self.resume_ids_wanted += getattr(listener, "wants_resume_ids", False)

    def remove(self, listener: Listener) -> None:
        if self.members.pop(listener, None) is not None:
            self.resume_ids_wanted -= getattr(listener, "wants_resume_ids", False)

    def go_live(self, listener: Listener, position: dict[str, int]) -> None:
        """The socket's snapshot (or replay) at `position` was sent: send it what followed."""
        member = self.members.get(listener)
        if member is None or not member.joining:
            return
        member.joining = False
        member.held = [kept for item in member.held if (kept := above(item, position)) is not None]
        # What the snapshot reflects but this process has not passed on yet (still on its way, or pending).
        floor = {
            stream: sequence
            for stream, sequence in position.items()
            if sequence > self.latest.get(stream, 0)
            or (stream in self.pending and self.pending[stream].sequence <= sequence)
        }
        member.floor = floor or None
        if member.floor is not None and self.barrier is not None:
            self.unconfirmed.append(member)
            if not self.barrier_under_way:
                self._send_barrier()
        self._release(member)

    def check_started(self, member: Member, answers: dict) -> None:
        member.checks += 1
        if member.held is None:
            member.held = []
        member.listener.recheck(answers)

    def checked(self, listener: Listener) -> None:
        """One access check of the socket passed."""
        member = self.members.get(listener)
        if member is not None and member.checks:
            member.checks -= 1
            self._release(member)

    def _release(self, member: Member) -> None:
        if member.joining or member.checks or member.held is None:
            return
        held, member.held = member.held, None
        for item in held:
            if not self._deliver(member, item):
                return

    # --- frames -----------------------------------------------------------------------------------

    def receive(self, published: Published) -> None:
        if published.sequence <= self.latest.get(published.stream, 0):
            return  # already passed on (Redis publishes each sequence once, in order: defensive)
        self.latest[published.stream] = published.sequence
        if published.recheck:
            answers = {}
            for member in list(self.members.values()):
                self.check_started(member, answers)
        if self.room.kind is RoomKind.MATCH and published.stream != self.room.stream:
            return  # a tournament frame that reached the match room only to have access checked
        if self.window_s is not None:
            if published.latest_only:
                self.pending.pop(published.stream, None)  # re-inserted last: publish order
                self.pending[published.stream] = published
                self._schedule_batch()
                return
            overtaken = self.pending.pop(published.stream, None)
            if overtaken is not None and not published.scored:
                self._broadcast(overtaken)  # its score goes first; a scored frame supersedes it
        self._broadcast(published)

    def _schedule_batch(self) -> None:
        if self.timer is not None:
            return
        delay = self.last_batch_at + self.window_s - self.now()
        if delay <= 0:
            self._send_batch()
        else:
            self.timer = self.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self.timer = None
        self._send_batch()

    def _send_batch(self) -> None:
        if not self.pending:
            return
        batch = Batch(list(self.pending.values()))
        self.pending.clear()
        self.last_batch_at = self.now()
        self._broadcast(batch)

    def _broadcast(self, item: Item) -> None:
        frame = item.frame
        if self.resume_ids_wanted:  # only event streams use them: no work for a room of sockets
            frame.resume_from = self._resume_from(item)
        self.frames_sent.inc(len(self.members))
        for member in list(self.members.values()):  # the loop run per socket per frame: kept short
            if member.held is not None:
                member.held.append(item)
            elif member.floor is not None:
                self._deliver(member, item)
            elif not member.listener.sink.deliver(frame):
                self._drop(member)

    def _resume_from(self, item: Item) -> str:
        """Where a client that got `item` resumes: after its newest entry, but not past a score still
        pending in the room (it was published before, and is not sent yet)."""
        entries = item.entries if isinstance(item, Batch) else [item]
        after = max((entry.history_id for entry in entries if entry.history_id), key=entry_order, default="")
        resume = successor(after) if after else ""
        waiting = [entry.history_id for entry in self.pending.values() if entry.history_id]
        if waiting:
            oldest = min(waiting, key=entry_order)
            resume = oldest if not resume or entry_order(oldest) < entry_order(resume) else resume
        return resume

    def _deliver(self, member: Member, item: Item) -> bool:
        if member.floor is not None:
            item = above(item, member.floor)
            self._lower_floor(member)
            if item is None:
                return True
        if member.listener.sink.deliver(item.frame):
            return True
        self._drop(member)
        return False

    def _drop(self, member: Member) -> None:
        metrics.SLOW_CLIENTS_DROPPED.inc()
        self.remove(member.listener)
        member.listener.dropped()

    def _send_barrier(self) -> None:
        members, self.unconfirmed = self.unconfirmed, []
        self.barrier_under_way = True
        self.barrier(lambda arrived: self._barrier_back(members, arrived))

    def _barrier_back(self, members: list[Member], arrived: bool) -> None:
        """A barrier published after `members` went live came back: every frame published before it has
        reached this process, among them every frame at or below their floors (their snapshots were read
        before they went live). None of those can still come: the streams count as passed up to there."""
        self.barrier_under_way = False
        if not arrived:  # Redis away: the floors stay (as safe as before); the next socket tries again
            self.unconfirmed[:0] = members
            return
        for member in members:
            if member.floor is None or self.members.get(member.listener) is not member:
                continue
            for stream, sequence in member.floor.items():
                if sequence > self.latest.get(stream, 0):
                    self.latest[stream] = sequence
            self._lower_floor(member)  # what is still pending at or below the floor stays out
        if self.unconfirmed:
            self._send_barrier()

    def _lower_floor(self, member: Member) -> None:
        """Forget the streams whose frames up to the floor have all passed."""
        for stream, sequence in list(member.floor.items()):
            pending = self.pending.get(stream)
            if self.latest.get(stream, 0) >= sequence and (pending is None or pending.sequence > sequence):
                del member.floor[stream]
        if not member.floor:
            member.floor = None

    def lost(self) -> None:
        """The subscription was made again after its connection to Redis broke: what was published
        meanwhile never reached this process, and nothing here can say what it was. Every socket is
        taken out (to resume from the history, which holds it), and what the room knew of its streams
        is forgotten: a Redis that lost its state numbers them from 1 again."""
        members = list(self.members.values())
        self.members.clear()
        self.resume_ids_wanted = 0
        self.close()
        self.latest.clear()
        self.pending.clear()
        self.unconfirmed.clear()
        self.confirmed = False
        for member in members:
            member.listener.lost_frames()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class ReconnectWatch:
    """A connect callback for one shard of the channel layer (redis-py keeps it as a WeakMethod)."""

    def __init__(self, hub: Hub, shard) -> None:
        self.hub, self.shard = hub, shard

    def reconnected(self, connection) -> None:
        self.hub.subscriptions_lost(self.shard)


class Hub:
    """This process's subscriptions to rooms, and the sockets of each (one per ASGI process)."""

    def __init__(self) -> None:
        self.channel: str | None = None
        self.reader: asyncio.Task | None = None
        self.rooms: dict[str, RoomFanout] = {}
        self.probes: dict[str, asyncio.Future] = {}
        self.barriers: set[asyncio.Task] = set()
        self.watches: dict[int, ReconnectWatch] = {}  # id(layer shard) -> its watch (redis-py keeps weak references)
        self._starting: asyncio.Lock | None = None
        self._subscriptions: asyncio.Lock | None = None

    @property
    def starting(self) -> asyncio.Lock:
        """Held while the hub's channel and reader are set up: connections arriving together share one."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        return self._starting

    @property
    def subscriptions(self) -> asyncio.Lock:
        """Held while a room's subscription changes: a leave's unsubscribe never undoes a join's subscribe."""
        if self._subscriptions is None:
            self._subscriptions = asyncio.Lock()
        return self._subscriptions

    async def available(self) -> None:
        """Raise redis.RedisError if Redis cannot be reached (before a handshake is accepted)."""
        await self._start()
        await asyncio.to_thread(client().ping)

    async def join(self, room: Room, listener: Listener) -> None:
        """Hold `listener` in `room`, subscribed: every frame published from now on reaches it."""
        async with self.subscriptions:
            fanout = self.rooms.get(room.group)
            if fanout is None:
                await self._start()
                layer = get_channel_layer()
                await layer.group_add(room.group, self.channel)
                try:
                    await self._confirm(room)
                except BaseException:
                    await layer.group_discard(room.group, self.channel)
                    raise
                self._watch_reconnects(room)
                loop = asyncio.get_running_loop()
                window = settings.REALTIME_ROOM_WINDOW_MS / 1000 if room.kind is RoomKind.TOURNAMENT else None
                fanout = RoomFanout(
                    room, window, now=loop.time, call_later=loop.call_later, barrier=partial(self._barrier, room)
                )
                self.rooms[room.group] = fanout
            elif not fanout.confirmed:  # made again after a reconnect, without waiting for Redis' answer
                await self._confirm(room)
                fanout.confirmed = True
            fanout.add(listener)

    def _watch_reconnects(self, room: Room) -> None:
        """Be told when the pub/sub connection that carries `room` is made again (after Redis went
        away, or the connection was cut): the layer then subscribes again by itself, but what was
        published meanwhile is gone, and the layer says nothing (its on_disconnect/on_reconnect hooks
        are never called). redis-py runs a connection's connect callbacks after the subscriptions were
        sent again, and only when it reconnects, not when it first connects."""
        shard = get_channel_layer()._get_layer()._get_shard(room.channel)
        watch = self.watches.get(id(shard))
        if watch is None:
            watch = self.watches[id(shard)] = ReconnectWatch(self, shard)
        shard._pubsub.connection.register_connect_callback(watch.reconnected)  # kept once per connection

    def subscriptions_lost(self, shard) -> None:
        """`shard`'s pub/sub connection was made again: its rooms' sockets may have missed frames."""
        layer = get_channel_layer()._get_layer()
        lost = [fanout for fanout in self.rooms.values() if layer._get_shard(fanout.room.channel) is shard]
        sockets = sum(len(fanout.members) for fanout in lost)
        logger.warning(
            "the subscription to Redis was made again: %d sockets in %d rooms told to resume",
            sockets,
            len(lost),
        )
        for fanout in lost:
            fanout.lost()

    def go_live(self, room: Room, listener: Listener, position: dict[str, int]) -> None:
        if fanout := self.rooms.get(room.group):
            fanout.go_live(listener, position)

    def checked(self, room: Room, listener: Listener) -> None:
        if fanout := self.rooms.get(room.group):
            fanout.checked(listener)

    async def leave(self, room: Room, listener: Listener) -> None:
        """Out of the room; the last socket of a room in this process unsubscribes it. Never raises for
        Redis: the subscription then goes with the connection."""
        fanout = self.rooms.get(room.group)
        if fanout is None:
            return
        fanout.remove(listener)
        if fanout.members:
            return
        async with self.subscriptions:
            if self.rooms.get(room.group) is not fanout or fanout.members:
                return
            del self.rooms[room.group]
            fanout.close()
            try:
                await get_channel_layer().group_discard(room.group, self.channel)
            except redis.RedisError as error:
                logger.warning("could not leave group %s: %s", room.group, error)

    async def _start(self) -> None:
        async with self.starting:
            if self.channel is None:
                self.channel = await get_channel_layer().new_channel("fanout.")
            if self.reader is None or self.reader.done():
                self.reader = asyncio.create_task(self._read(self.channel))

    async def _confirm(self, room: Room) -> None:
        """Publish a probe to the room and wait until it comes back: the subscription is live in
        Redis, so anything published from now on reaches this process. (SUBSCRIBE is sent without
        waiting for its answer, and a snapshot is read over another connection.)"""
        token = uuid.uuid4().hex
        arrived = asyncio.get_running_loop().create_future()
        self.probes[token] = arrived
        probe = json.dumps({"type": PROBE_MESSAGE_TYPE, "group": room.group, "probe": token})
        try:
            await asyncio.to_thread(client().publish, room.channel, probe)
            async with asyncio.timeout(settings.REALTIME_SEND_TIMEOUT_S):
                await arrived
        except TimeoutError:
            raise redis.TimeoutError(f"the subscription to {room.group} was not confirmed") from None
        finally:
            self.probes.pop(token, None)

    def _barrier(self, room: Room, back: Callable[[bool], None]) -> None:
        """A room's barrier (RoomFanout.barrier): a probe published to the room; back(True) once it came back."""
        task = asyncio.get_running_loop().create_task(self._confirm_barrier(room, back))
        self.barriers.add(task)  # a reference, until it is done
        task.add_done_callback(self.barriers.discard)

    async def _confirm_barrier(self, room: Room, back: Callable[[bool], None]) -> None:
        try:
            await self._confirm(room)
        except Exception as error:  # Redis away, or the probe did not come back in time
            logger.warning("a barrier in %s was not confirmed: %s", room.group, error)
            back(False)
        else:
            back(True)

    async def _read(self, channel: str) -> None:
        layer = get_channel_layer()
        while True:
            try:
                message = await layer.receive(channel)
            except redis.RedisError as error:  # resubscribing the channel failed: Redis is away
                logger.warning("the fan-out lost its channel (%s); retrying in a second", error)
                await asyncio.sleep(1)
                continue
            try:
                self.dispatch(message)
            except Exception:
                logger.exception("could not fan out a message to %s", message.get("group"))

    def dispatch(self, message: dict) -> None:
        if message["type"] == PROBE_MESSAGE_TYPE:
            arrived = self.probes.get(message["probe"])
            if arrived is not None and not arrived.done():
                arrived.set_result(None)
        elif message["type"] == FRAME_MESSAGE_TYPE and (fanout := self.rooms.get(message["group"])):
            fanout.receive(Published.from_message(message))


hub = Hub()
