"""The coalescing engine against a real Redis and the real channels-redis pub/sub layer.

These tests drive realtime.store.coalescing directly (no worker) and read what the scripts publish
through a channel-layer group, exactly as a consumer would.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import override_settings

from realtime.events import Event, template
from realtime.store import coalescing, history, keys, scripts
from realtime.store.coalescing import Save
from realtime.store.keys import Room

MATCH, TOURNAMENT = 501, 77


MAX_SCORE = 1_000_000


def completed_frame(winner: int = 9):
    return template(
        Event.MATCH_COMPLETED,
        {"match_id": MATCH, "tournament_id": TOURNAMENT, "version": 2, "winner_id": winner, "series": [1, 0],
         "forfeit": False, "forfeited_by_id": None},
    )  # fmt: skip


def live(match_id: int = MATCH, *, state: str = "live", version: int = 1) -> None:
    """What start_match tells Redis (here without a database)."""
    coalescing.prime_match(
        match_id, TOURNAMENT, state=state, state_version=version,
        participant1_score=0, participant2_score=0, score_version=0, game=1,
    )  # fmt: skip


def submit(p1: int, p2: int = 0, *, match_id: int = MATCH, user_id=None, mode="set") -> coalescing.Submitted:
    return coalescing.submit(match_id, TOURNAMENT, p1, p2, user_id=user_id, mode=mode, max_score=MAX_SCORE)


def complete(p1: int, p2: int, version: int) -> list[int]:
    return coalescing.conclude(
        MATCH, TOURNAMENT, [completed_frame()], score=(p1, p2, version), game=1, state_version=2, next_game=None
    )


def reserve_closing() -> int:
    """What a completion's transaction reserves (the score version of its final score)."""
    return coalescing.reserve_score_version(MATCH, TOURNAMENT, floor=0, close=True, state_version=1).score_version


class Listener:
    """A channel-layer channel in the match group: what every consumer of the room would get."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.layer = get_channel_layer()

    async def __aenter__(self):
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        return self

    async def __aexit__(self, *exc):
        await self.layer.group_discard(self.group, self.channel)
        await self.layer.flush()

    async def next(self, timeout: float = 5) -> dict:
        message = await asyncio.wait_for(self.layer.receive(self.channel), timeout)
        return {**message, "parsed": json.loads(message["frame"])}

    async def drain_until(self, predicate, timeout: float = 5) -> list[dict]:
        got = []
        while True:
            message = await self.next(timeout)
            got.append(message)
            if predicate(message["parsed"]):
                return got


async def run(fn, *args, **kwargs):
    return await asyncio.to_thread(fn, *args, **kwargs)


def test_a_burst_opens_one_window_and_later_updates_coalesce():
    live()
    submitted = [submit(10 + n) for n in range(10)]
    assert [s.status for s in submitted] == ["schedule"] + ["coalesced"] * 9
    assert [s.score_version for s in submitted] == list(range(1, 11))  # Redis numbers every score


def test_a_match_takes_scores_only_while_its_gate_says_live():
    assert submit(1).status == "state_unknown"  # nobody told Redis: the domain reads the database
    live(state="scheduled")
    assert (submit(1).status, submit(1).state) == ("not_live", "scheduled")
    live(state="live", version=0)  # an older view of the match never rolls the gate back
    assert submit(1).state == "scheduled"
    live(state="live", version=2)
    assert submit(1).accepted


def test_the_gate_is_trusted_only_for_its_lease():
    with override_settings(REALTIME_GATE_LEASE_S=0):
        live()
        assert submit(1).status == "state_unknown"  # read it again from the database
    live()
    assert submit(1).accepted


def test_only_officials_post_and_a_stale_reader_never_restores_a_revoked_one():
    live()
    unknown = submit(1, user_id=5)
    assert unknown.status == "officials_unknown"
    assert coalescing.prime_officials(TOURNAMENT, unknown.access, [5, 6])
    assert submit(2, user_id=5).accepted and submit(3, user_id=7).status == "forbidden"
    # A reader saw the officials, then they changed (5 revoked) before it wrote: its list is refused.
    seen = unknown.access
    coalescing.officials_changed(TOURNAMENT)
    assert submit(4, user_id=5).status == "officials_unknown"
    assert not coalescing.prime_officials(TOURNAMENT, seen, [5, 6])
    fresh = submit(4, user_id=5)
    assert coalescing.prime_officials(TOURNAMENT, fresh.access, [6])
    assert submit(5, user_id=5).status == "forbidden" and submit(5, user_id=6).accepted


def test_adding_to_the_live_score_is_atomic_and_clamped():
    live()
    submit(3, 1)
    assert (submit(2, -5, mode="add").participant1_score, submit(0, 0, mode="add").participant2_score) == (5, 0)
    assert submit(MAX_SCORE, 0, mode="add").participant1_score == MAX_SCORE


@pytest.mark.asyncio
async def test_flush_publishes_the_latest_score_once_and_only_for_the_current_token():
    live()
    async with Listener(Room.match(MATCH).group) as listener:
        first = await run(submit, 10)
        for score in range(11, 20):
            await run(submit, score)
        assert (await run(coalescing.flush, MATCH, TOURNAMENT, first.token + 1)).sequence == 0  # not current
        flushed = await run(coalescing.flush, MATCH, TOURNAMENT, first.token)
        assert flushed.sequence == 1 and flushed.save.now == (19, 0, 10)  # the first flush saves at once
        assert (await run(coalescing.flush, MATCH, TOURNAMENT, first.token)).sequence == 0  # redelivered
        message = await listener.next()
        assert message["parsed"]["data"]["participant1_score"] == 19
        assert message["parsed"]["data"]["score_version"] == 10
        assert message["sequence"] == message["parsed"]["data"]["sequence"] == 1
        # The next thing on the channel is whatever we publish next, not a duplicate.
        await run(complete, 20, 3, reserve_closing())
        assert (await listener.next())["parsed"]["type"] == "match_completed"


def test_the_database_is_due_a_score_at_most_once_per_save_interval():
    live()
    with override_settings(REALTIME_SAVE_INTERVAL_MS=60_000):
        saves = []
        for score in range(1, 6):
            submit(score)
            saves.append(coalescing.flush(MATCH, TOURNAMENT, None).save)
        # The first published score is saved at once; the next has one save task scheduled for the
        # interval's end; the rest ride on it.
        assert saves[0] == Save(now=(1, 0, 1))
        task = saves[1]
        assert task.now is None and 59_000 <= task.in_ms <= 60_000
        assert saves[2:] == [Save()] * 3
        coalescing.saved(MATCH, TOURNAMENT, 1)
        # That task, run early (a redelivery), finds the interval not over and schedules itself again.
        early = coalescing.claim_save(MATCH, task.task)
        assert early.now is None and 0 < early.in_ms <= 60_000
        assert coalescing.overdue_unsaved() == []
    with override_settings(REALTIME_SAVE_INTERVAL_MS=0):
        # Once the interval is over it saves the latest published score, and only once.
        assert coalescing.claim_save(MATCH, early.task) == Save(now=(5, 0, 5))
        coalescing.saved(MATCH, TOURNAMENT, 5)
        assert coalescing.claim_save(MATCH, early.task) == Save()
        assert coalescing.overdue_unsaved() == []


def test_a_save_makes_a_scheduled_save_task_moot():
    live()
    with override_settings(REALTIME_SAVE_INTERVAL_MS=60_000):
        submit(1)
        coalescing.flush(MATCH, TOURNAMENT, None)
        coalescing.saved(MATCH, TOURNAMENT, 1)
        submit(2)
        lost = coalescing.flush(MATCH, TOURNAMENT, None).save  # its worker dies: this task never runs
    with override_settings(REALTIME_SAVE_INTERVAL_MS=0):
        submit(3)
        assert coalescing.flush(MATCH, TOURNAMENT, None).save == Save(now=(3, 0, 3))  # not waiting for it
        coalescing.saved(MATCH, TOURNAMENT, 3)
    with override_settings(REALTIME_SAVE_INTERVAL_MS=60_000):
        submit(4)
        current = coalescing.flush(MATCH, TOURNAMENT, None).save
        assert current.in_ms > 0  # a new task for the new interval, not the lost one's
        # The lost task, redelivered late, neither saves early nor cancels the current one.
        assert coalescing.claim_save(MATCH, lost.task) == Save()
        assert coalescing.claim_save(MATCH, current.task).in_ms > 0


def test_an_unsaved_score_stays_claimed_until_the_database_holds_it():
    live()
    submit(1)
    assert coalescing.flush(MATCH, TOURNAMENT, None).save.now == (1, 0, 1)
    # The worker died before writing: the sweep finds it once the interval has passed, and keeps
    # finding it (one interval apart) until a save is recorded.
    with override_settings(REALTIME_SAVE_INTERVAL_MS=0):
        assert coalescing.overdue_unsaved() == [(MATCH, TOURNAMENT, (1, 0, 1))]
        assert coalescing.overdue_unsaved() == [(MATCH, TOURNAMENT, (1, 0, 1))]
        coalescing.saved(MATCH, TOURNAMENT, 1)
        assert coalescing.overdue_unsaved() == []


@pytest.mark.asyncio
async def test_completion_publishes_the_pending_score_then_completion_then_nothing():
    live()
    async with Listener(Room.tournament(TOURNAMENT).group) as listener:
        submitted = await run(submit, 3, 1)
        final = await run(reserve_closing)
        assert final == submitted.score_version + 1
        assert (await run(submit, 9)).state == "closing"  # nothing is taken once the completion reserved
        assert await run(complete, 4, 1, final) == [1, 2]
        assert (await run(coalescing.flush, MATCH, TOURNAMENT, submitted.token)).sequence == 0
        assert (await run(submit, 9)).state == "completed"
        assert await run(complete, 4, 1, final) == []
        score, completed = await listener.next(), await listener.next()
        assert (score["parsed"]["type"], score["parsed"]["data"]["participant1_score"]) == ("score_updated", 3)
        assert (completed["parsed"]["type"], completed["sequence"]) == ("match_completed", 2)
        assert completed["parsed"]["data"]["score_version"] == final
        # A later event (a dispute) is the next frame: nothing was published in between.
        dispute = template(
            Event.DISPUTE_CREATED,
            {"match_id": MATCH, "tournament_id": TOURNAMENT, "version": 3, "dispute_id": 1, "reason": "x"},
        )
        await run(coalescing.emit_match_event, MATCH, TOURNAMENT, dispute)
        assert (await listener.next())["parsed"]["type"] == "dispute_created"


def test_a_failed_completion_reopens_the_gate_it_shut_and_only_that_one():
    live()
    first = reserve_closing()
    second = reserve_closing()
    assert not coalescing.reopen(MATCH, first)  # another completion shut it since
    assert submit(1).state == "closing"
    assert coalescing.reopen(MATCH, second)
    assert submit(1).accepted and submit(2).score_version > second


def test_an_event_goes_out_after_the_pending_score_and_moves_the_gate():
    live()
    submit(7)
    dispute = template(
        Event.DISPUTE_CREATED,
        {"match_id": MATCH, "tournament_id": TOURNAMENT, "version": 2, "dispute_id": 1, "reason": "x"},
    )
    assert coalescing.emit_match_event(MATCH, TOURNAMENT, dispute, gate=coalescing.Gate("disputed", 2)) == [1, 2]
    assert submit(8).state == "disputed"
    assert coalescing.flush(MATCH, TOURNAMENT, None).sequence == 0  # the pending score went out first


@override_settings(REALTIME_MAX_WAIT_MS=0)
def test_a_batch_whose_flush_is_overdue_is_rearmed_and_found_by_the_sweep():
    live()
    first = submit(1)
    assert coalescing.overdue_batches(max_wait_ms=0) == [(MATCH, TOURNAMENT)]
    # max-wait 0: any later update sees the pending flush as overdue and schedules a new one at once
    rearmed = submit(2)
    assert (rearmed.status, rearmed.delay_ms) == ("schedule", 0)
    assert rearmed.token == first.token + 1
    assert coalescing.flush(MATCH, TOURNAMENT, first.token).sequence == 0  # the lost task, if it ever runs
    assert coalescing.flush(MATCH, TOURNAMENT, None).sequence == 1  # the sweep's forced flush
    assert coalescing.overdue_batches(max_wait_ms=0) == []


def test_position_has_per_match_sequences_from_zero_and_an_epoch_once_something_is_published():
    start = history.position(TOURNAMENT, [MATCH, MATCH + 1])
    assert (start.epoch, start.of_match(MATCH), start.of_match(MATCH + 1), start.of_tournament(TOURNAMENT)) == (
        "", 0, 0, 0,
    )  # fmt: skip
    live()
    submit(1)
    coalescing.flush(MATCH, TOURNAMENT, None)
    after = history.position(TOURNAMENT, [MATCH, MATCH + 1])
    assert (after.of_match(MATCH), after.of_match(MATCH + 1), after.of_tournament(TOURNAMENT)) == (1, 0, 0)
    assert after.epoch and after.published_scores == {MATCH: (1, 0, 1, 1)}
    coalescing.emit_tournament_event(
        TOURNAMENT, template(Event.BRACKET_UPDATED, {"tournament_id": TOURNAMENT, "matches": []})
    )
    again = history.position(TOURNAMENT, [MATCH])
    assert (again.epoch, again.of_tournament(TOURNAMENT)) == (after.epoch, 1)


def test_history_keeps_recent_frames_in_publish_order_and_is_bounded():
    live()
    with override_settings(REALTIME_HISTORY_LENGTH=3):
        for score in range(1, 6):
            submit(score)
            coalescing.flush(MATCH, TOURNAMENT, None)
    position, entries = history.history(TOURNAMENT, [MATCH])
    assert position.of_match(MATCH) == 5
    assert [(entry.stream, entry.sequence) for entry in entries] == [(keys.match_stream(MATCH), q) for q in (3, 4, 5)]
    assert json.loads(entries[-1].frame)["data"]["participant1_score"] == 5


def test_state_expires():
    live()
    submit(1)
    for key in (keys.match_state(MATCH),):
        assert 0 < scripts.client().ttl(key) <= settings.REALTIME_STATE_TTL_S
    coalescing.prime_officials(TOURNAMENT, 0, [1])
    assert 0 < scripts.client().ttl(keys.officials(TOURNAMENT)) <= settings.REALTIME_GATE_LEASE_S


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)  # a flush also saves the score (to no row here)
async def test_tests_can_flush_every_pending_batch_deterministically():
    from realtime.tasks import flush_pending_batches

    live(MATCH)
    live(MATCH + 1)
    async with Listener(Room.match(MATCH).group) as listener:
        await run(submit, 4)
        await run(submit, 5, match_id=MATCH + 1)
        assert await run(flush_pending_batches, 0) == 2
        assert await run(flush_pending_batches, 0) == 0
        assert (await listener.next())["parsed"]["data"]["participant1_score"] == 4
