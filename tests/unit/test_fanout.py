"""The per-process fan-out's rules (realtime/fanout.py), with a hand-driven clock: conflation of the
tournament room, held sockets, floors, drops. Pure logic; the end-to-end tests run it for real."""

from __future__ import annotations

import json

import pytest
from websockets.frames import Frame, Opcode

from realtime.events import Event, template
from realtime.fanout import Published, RoomFanout
from realtime.sinks import websocket_text_frame
from realtime.store.keys import Room

WINDOW = 0.2
TOURNAMENT = 1


class Clock:
    def __init__(self) -> None:
        self.time = 100.0
        self.timers: list[tuple[float, object]] = []

    def now(self) -> float:
        return self.time

    def call_later(self, delay: float, callback):
        timer = Timer(self.time + delay, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Move time on, running each timer due meanwhile at its own time."""
        end = self.time + seconds
        while due := [t for t in self.timers if t.when <= end + 1e-9 and not t.cancelled]:
            timer = min(due, key=lambda t: t.when)
            self.timers.remove(timer)
            self.time = max(self.time, timer.when)
            timer.callback()
        self.time = end


class Timer:
    def __init__(self, when: float, callback) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Client:
    """A socket as the fan-out sees it: what it was written, and what it was told."""

    def __init__(self, accepts: bool = True) -> None:
        self.sink = self
        self.accepts = accepts
        self.texts: list[str] = []
        self.rechecks = 0
        self.was_dropped = False
        self.was_told_to_resume = False

    def deliver(self, frame) -> bool:
        if self.accepts:
            self.texts.append(frame.text)
        return self.accepts

    def recheck(self, answers: dict) -> None:
        self.rechecks += 1
        self.answers = answers

    def dropped(self) -> None:
        self.was_dropped = True

    def lost_frames(self) -> None:
        self.was_told_to_resume = True

    def received(self) -> list[tuple]:
        """(type, match or tournament, sequence, score) per frame; batches as lists of those."""

        def brief(frame: dict) -> tuple:
            data = frame["data"]
            return (frame["type"], data.get("match_id", data.get("tournament_id")), data.get("sequence"),
                    data.get("participant1_score"))  # fmt: skip

        parsed = [json.loads(text) for text in self.texts]
        return [[brief(f) for f in p["data"]["frames"]] if p["type"] == "batch" else brief(p) for p in parsed]


def score(match_id: int, sequence: int, points: int) -> Published:
    frame = template(Event.SCORE_UPDATED, {"match_id": match_id, "tournament_id": TOURNAMENT})
    return Published(
        f"m:{match_id}", sequence, frame.render(sequence, (points, 0, points, 1)), latest_only=True, scored=True
    )


def completed(match_id: int, sequence: int, points: int) -> Published:
    frame = template(
        Event.MATCH_COMPLETED,
        {
            "match_id": match_id,
            "tournament_id": TOURNAMENT,
            "version": 2,
            "winner_id": 7,
            "series": [1, 0],
            "forfeit": False,
            "forfeited_by_id": None,
        },
    )
    return Published(f"m:{match_id}", sequence, frame.render(sequence, (points, 0, points, 1)), scored=True)


def dispute(match_id: int, sequence: int) -> Published:
    frame = template(
        Event.DISPUTE_CREATED,
        {"match_id": match_id, "tournament_id": TOURNAMENT, "version": 2, "dispute_id": 1, "reason": "lag"},
    )
    return Published(f"m:{match_id}", sequence, frame.render(sequence))


def renamed(sequence: int) -> Published:
    frame = template(
        Event.TOURNAMENT_UPDATED, {"tournament_id": TOURNAMENT, "name": "Cup", "game": "Go", "visibility": "public"}
    )
    return Published(f"t:{TOURNAMENT}", sequence, frame.render(sequence), recheck=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def bracket_room(clock: Clock) -> RoomFanout:
    return RoomFanout(Room.tournament(TOURNAMENT), WINDOW, now=clock.now, call_later=clock.call_later)


def live(room: RoomFanout, position: dict | None = None) -> Client:
    client = Client()
    room.add(client)
    room.go_live(client, position or {})
    return client


def test_a_bracket_socket_gets_at_most_one_batch_per_window_with_the_latest_of_each_match(clock):
    room = bracket_room(clock)
    client = live(room)
    room.receive(score(1, 1, 10))  # nothing went out in the last window: at once
    for sequence, points in ((2, 11), (3, 12)):
        room.receive(score(1, sequence, points))
    room.receive(score(2, 1, 5))
    clock.advance(WINDOW / 2)
    assert client.received() == [[("score_updated", 1, 1, 10)]]
    clock.advance(WINDOW / 2)
    assert client.received()[1] == [("score_updated", 1, 3, 12), ("score_updated", 2, 1, 5)]
    for match_id in range(3, 131):  # 128 more matches change within one window: still one frame
        room.receive(score(match_id, 1, 1))
    clock.advance(WINDOW)
    assert len(client.texts) == 3 and len(client.received()[2]) == 128


def test_batches_keep_a_window_apart_and_an_idle_room_sends_at_once_again(clock):
    room = bracket_room(clock)
    client = live(room)
    sent_at = []
    for step in range(40):  # a score every 30 ms
        before = len(client.texts)
        room.receive(score(1, step + 1, step))
        clock.advance(0.03)
        sent_at += [clock.time] * (len(client.texts) - before)
    assert all(b - a >= WINDOW - 0.031 for a, b in zip(sent_at, sent_at[1:], strict=False))
    clock.advance(10)
    room.receive(score(1, 100, 100))
    assert client.received()[-1] == [("score_updated", 1, 100, 100)]


def test_a_completion_supersedes_the_pending_score_and_nothing_about_the_match_follows_it(clock):
    room = bracket_room(clock)
    client = live(room)
    room.receive(score(2, 1, 1))  # opens the window
    room.receive(score(1, 1, 10))
    room.receive(score(2, 2, 2))
    room.receive(completed(1, 2, 11))
    clock.advance(WINDOW)
    assert client.received() == [
        [("score_updated", 2, 1, 1)],
        ("match_completed", 1, 2, 11),
        [("score_updated", 2, 2, 2)],
    ]


def test_an_event_without_a_score_is_preceded_by_the_pending_score_it_would_overtake(clock):
    room = bracket_room(clock)
    client = live(room)
    room.receive(score(2, 1, 1))
    room.receive(score(1, 1, 10))
    room.receive(dispute(1, 2))
    assert client.received() == [
        [("score_updated", 2, 1, 1)],
        ("score_updated", 1, 1, 10),
        ("dispute_created", 1, 2, None),
    ]


def test_a_joining_socket_gets_only_what_follows_its_snapshot(clock):
    room = bracket_room(clock)
    watching = live(room)
    room.receive(score(1, 1, 10))  # batch at once
    joining = Client()
    room.add(joining)
    room.receive(dispute(3, 1))  # held for the joining socket
    room.receive(dispute(3, 2))
    room.receive(score(1, 2, 11))  # pending
    room.receive(score(2, 1, 5))  # pending
    # its snapshot reflects dispute 3/1 and score 1/2, not dispute 3/2 nor score 2/1
    room.go_live(joining, {"m:1": 2, "m:2": 0, "m:3": 1, "t:1": 0})
    clock.advance(WINDOW)
    assert joining.received() == [("dispute_created", 3, 2, None), [("score_updated", 2, 1, 5)]]
    assert watching.received()[-1] == [("score_updated", 1, 2, 11), ("score_updated", 2, 1, 5)]
    room.receive(score(1, 3, 12))
    clock.advance(WINDOW)
    assert joining.received()[-1] == [("score_updated", 1, 3, 12)]


def test_frames_still_on_their_way_that_the_snapshot_reflects_are_not_sent_again(clock):
    room = bracket_room(clock)
    watching = live(room)
    joining = Client()
    room.add(joining)
    # The snapshot read m:1 at 3 and m:2 at 1, before those frames reached this process.
    room.go_live(joining, {"m:1": 3, "m:2": 1})
    room.receive(dispute(2, 1))
    room.receive(score(1, 2, 11))
    room.receive(score(1, 3, 12))
    room.receive(score(1, 4, 13))
    clock.advance(WINDOW)
    assert watching.received() == [
        ("dispute_created", 2, 1, None),
        [("score_updated", 1, 2, 11)],
        [("score_updated", 1, 4, 13)],
    ]
    assert joining.received() == [[("score_updated", 1, 4, 13)]]
    assert joining.sink is joining and room.members[joining].floor is None  # forgotten once passed


def test_an_access_check_holds_frames_until_it_passes_and_each_check_counts(clock):
    room = bracket_room(clock)
    client = live(room)
    room.receive(renamed(1))
    room.receive(dispute(1, 1))
    room.receive(renamed(2))
    assert client.rechecks == 2 and client.texts == []
    room.checked(client)
    assert client.texts == []
    room.checked(client)
    assert [frame[0] for frame in client.received()] == ["tournament_updated", "dispute_created", "tournament_updated"]


def test_a_client_that_cannot_take_a_frame_is_dropped_and_the_others_still_get_it(clock):
    room = bracket_room(clock)
    stuck, healthy = live(room), live(room)
    stuck.accepts = False
    room.receive(dispute(1, 1))
    room.receive(dispute(1, 2))
    assert stuck.was_dropped and stuck not in room.members
    assert [frame[2] for frame in healthy.received()] == [1, 2]


def test_match_rooms_forward_every_frame_of_their_match_only(clock):
    room = RoomFanout(Room.match(1), None, now=clock.now, call_later=clock.call_later)
    client = live(room)
    room.receive(score(1, 1, 10))
    room.receive(score(1, 2, 11))
    room.receive(renamed(1))  # reaches match rooms only to have access checked
    room.checked(client)
    room.receive(score(1, 2, 11))  # the same sequence again: dropped
    assert client.received() == [("score_updated", 1, 1, 10), ("score_updated", 1, 2, 11)]
    assert client.rechecks == 1


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70000])
def test_frames_are_framed_as_the_websockets_library_frames_them(length):
    payload = b"x" * length
    assert websocket_text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


def test_the_sockets_of_a_room_share_one_set_of_answers_per_access_change(clock):
    room = bracket_room(clock)
    first, second = live(room), live(room)
    room.receive(renamed(1))
    assert first.answers is second.answers
    room.receive(renamed(2))
    assert first.answers is not None and first.answers is second.answers and first.rechecks == 2


class Barriers:
    """The hub's barriers, by hand: each one comes back when the test says so."""

    def __init__(self) -> None:
        self.waiting: list = []

    def __call__(self, back) -> None:
        self.waiting.append(back)

    def come_back(self, arrived: bool = True) -> None:
        self.waiting.pop(0)(arrived)


def test_a_floor_on_quiet_streams_is_forgotten_once_a_barrier_comes_back(clock):
    # A tournament with history: the snapshot reads every stream ahead of what this process has passed on
    # (those frames were published before it subscribed). Without a barrier the floor would stay for good.
    barriers = Barriers()
    room = RoomFanout(Room.tournament(TOURNAMENT), WINDOW, now=clock.now, call_later=clock.call_later, barrier=barriers)
    position = {"t:1": 9, **{f"m:{match}": 3 for match in range(1, 129)}}
    client = live(room, position)
    assert len(room.members[client].floor) == 129 and len(barriers.waiting) == 1
    room.receive(score(1, 3, 10))  # still on its way when the snapshot was read: not sent again
    barriers.come_back()
    clock.advance(WINDOW)
    assert client.texts == []
    assert room.members[client].floor is None and room.latest["m:2"] == 3
    room.receive(score(2, 4, 11))
    assert client.received() == [[("score_updated", 2, 4, 11)]]


def test_a_floor_stream_with_a_pending_score_the_snapshot_has_keeps_it_out_after_the_barrier(clock):
    barriers = Barriers()
    room = RoomFanout(Room.tournament(TOURNAMENT), WINDOW, now=clock.now, call_later=clock.call_later, barrier=barriers)
    watching = live(room)
    room.receive(score(1, 1, 10))  # sent at once: the window starts
    room.receive(score(1, 2, 11))  # pending until the window ends
    joining = live(room, {"m:1": 2, "m:2": 5})  # its snapshot has score 1/2 already
    barriers.come_back()
    assert room.members[joining].floor == {"m:1": 2}
    clock.advance(WINDOW)
    assert watching.received()[-1] == [("score_updated", 1, 2, 11)] and joining.texts == []
    room.receive(score(1, 3, 12))
    clock.advance(WINDOW)
    assert joining.received() == [[("score_updated", 1, 3, 12)]] and room.members[joining].floor is None


def test_sockets_that_go_live_while_a_barrier_is_out_wait_for_the_next_one(clock):
    barriers = Barriers()
    room = RoomFanout(Room.tournament(TOURNAMENT), WINDOW, now=clock.now, call_later=clock.call_later, barrier=barriers)
    first = live(room, {"m:1": 4})
    second = live(room, {"m:1": 6})  # its snapshot was read later: m:1 5 and 6 may still be on their way
    assert len(barriers.waiting) == 1
    barriers.come_back()
    assert room.members[first].floor is None and room.members[second].floor == {"m:1": 6}
    room.receive(dispute(1, 5))  # on their way when the second snapshot was read
    room.receive(dispute(1, 6))
    assert [frame[2] for frame in first.received()] == [5, 6] and second.texts == []
    barriers.come_back()
    assert room.members[second].floor is None
    room.receive(dispute(1, 7))
    assert second.received() == [("dispute_created", 1, 7, None)]


def test_a_barrier_that_is_not_confirmed_leaves_the_floor_and_the_next_socket_tries_again(clock):
    barriers = Barriers()
    room = RoomFanout(Room.tournament(TOURNAMENT), WINDOW, now=clock.now, call_later=clock.call_later, barrier=barriers)
    first = live(room, {"m:1": 4})
    barriers.come_back(arrived=False)
    assert room.members[first].floor == {"m:1": 4} and not barriers.waiting
    room.receive(dispute(1, 4))  # on its way after all: still kept out
    assert first.texts == []
    second = live(room, {"m:2": 2})
    barriers.come_back()
    assert room.members[first].floor is None and room.members[second].floor is None


def test_a_room_whose_subscription_was_made_again_sends_its_sockets_to_resume_and_forgets_its_streams(clock):
    room = bracket_room(clock)
    before = [live(room), live(room)]
    room.receive(score(1, 5, 10))
    room.receive(score(1, 6, 11))  # pending in the window
    room.lost()
    assert all(client.was_told_to_resume for client in before)
    assert room.members == {} and not room.confirmed
    clock.advance(WINDOW)
    assert [client.received() for client in before] == [[[("score_updated", 1, 5, 10)]]] * 2  # not the pending one
    # A Redis that lost its state numbers the match's frames from 1 again: a socket joining now gets them.
    after = live(room, {"m:1": 1})
    room.receive(score(1, 2, 3))
    assert after.received() == [[("score_updated", 1, 2, 3)]] and not after.was_told_to_resume
