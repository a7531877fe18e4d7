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
from realtime.store.keys import Room

MATCH, TOURNAMENT = 501, 77


def score_frame(p1: int, p2: int = 0):
    return template(
        Event.SCORE_UPDATED,
        {
            "match_id": MATCH,
            "tournament_id": TOURNAMENT,
            "participant1_score": p1,
            "participant2_score": p2,
            "score_version": p1,
        },  # fmt: skip
    )


def completed_frame(p1: int, p2: int, winner: int = 9):
    return template(
        Event.MATCH_COMPLETED,
        {
            "match_id": MATCH,
            "tournament_id": TOURNAMENT,
            "version": 2,
            "score_version": 100,
            "participant1_score": p1,
            "participant2_score": p2,
            "winner_id": winner,
        },
    )


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


async def run(fn, *args):
    return await asyncio.to_thread(fn, *args)


def test_a_burst_opens_one_window_and_later_updates_coalesce():
    statuses = [coalescing.submit_score(MATCH, TOURNAMENT, v, score_frame(10 + v)).status for v in range(1, 11)]
    assert statuses == ["schedule"] + ["coalesced"] * 9


def test_an_older_version_never_overwrites_a_newer_score():
    coalescing.submit_score(MATCH, TOURNAMENT, 5, score_frame(5))
    assert coalescing.submit_score(MATCH, TOURNAMENT, 4, score_frame(4)).status == "stale"
    assert coalescing.submit_score(MATCH, TOURNAMENT, 5, score_frame(4)).status == "stale"


@pytest.mark.asyncio
async def test_flush_publishes_the_latest_score_once_and_only_for_the_current_token():
    async with Listener(Room.match(MATCH).group) as listener:
        first = await run(coalescing.submit_score, MATCH, TOURNAMENT, 1, score_frame(10))
        for version in range(2, 11):
            await run(coalescing.submit_score, MATCH, TOURNAMENT, version, score_frame(9 + version))
        assert await run(coalescing.flush, MATCH, TOURNAMENT, first.token + 1) == 0  # not the current token
        sequence = await run(coalescing.flush, MATCH, TOURNAMENT, first.token)
        assert sequence == 1
        assert await run(coalescing.flush, MATCH, TOURNAMENT, first.token) == 0  # redelivered: nothing
        message = await listener.next()
        assert message["parsed"]["data"]["participant1_score"] == 19
        assert message["sequence"] == message["parsed"]["data"]["sequence"] == 1
        # The next thing on the channel is whatever we publish next, not a duplicate.
        await run(coalescing.complete, MATCH, TOURNAMENT, completed_frame(20, 3))
        assert (await listener.next())["parsed"]["type"] == "match_completed"


@pytest.mark.asyncio
async def test_completion_publishes_the_pending_score_then_completion_then_nothing():
    async with Listener(Room.tournament(TOURNAMENT).group) as listener:
        submitted = await run(coalescing.submit_score, MATCH, TOURNAMENT, 1, score_frame(3, 1))
        published = await run(coalescing.complete, MATCH, TOURNAMENT, completed_frame(4, 1))
        assert published == [1, 2]
        assert await run(coalescing.flush, MATCH, TOURNAMENT, submitted.token) == 0
        assert (await run(coalescing.submit_score, MATCH, TOURNAMENT, 2, score_frame(9))).status == "closed"
        assert await run(coalescing.complete, MATCH, TOURNAMENT, completed_frame(4, 1)) == []
        score, completed = await listener.next(), await listener.next()
        assert (score["parsed"]["type"], score["parsed"]["data"]["participant1_score"]) == ("score_updated", 3)
        assert (completed["parsed"]["type"], completed["sequence"]) == ("match_completed", 2)
        # A later event (a dispute) is the next frame: nothing was published in between.
        dispute = template(
            Event.DISPUTE_CREATED,
            {"match_id": MATCH, "tournament_id": TOURNAMENT, "version": 3, "dispute_id": 1, "reason": "x"},
        )
        await run(coalescing.emit_match_event, MATCH, TOURNAMENT, dispute)
        assert (await listener.next())["parsed"]["type"] == "dispute_created"


@override_settings(REALTIME_MAX_WAIT_MS=0)
def test_a_batch_whose_flush_is_overdue_is_rearmed_and_found_by_the_sweep():
    first = coalescing.submit_score(MATCH, TOURNAMENT, 1, score_frame(1))
    assert coalescing.overdue_batches(max_wait_ms=0) == [(MATCH, TOURNAMENT)]
    # max-wait 0: any later update sees the pending flush as overdue and schedules a new one at once
    rearmed = coalescing.submit_score(MATCH, TOURNAMENT, 2, score_frame(2))
    assert (rearmed.status, rearmed.delay_ms) == ("schedule", 0)
    assert rearmed.token == first.token + 1
    assert coalescing.flush(MATCH, TOURNAMENT, first.token) == 0  # the lost task, if it ever runs
    assert coalescing.flush(MATCH, TOURNAMENT, None) == 1  # the sweep's forced flush
    assert coalescing.overdue_batches(max_wait_ms=0) == []


def test_position_has_per_match_sequences_from_zero_and_an_epoch_once_something_is_published():
    start = history.position(TOURNAMENT, [MATCH, MATCH + 1])
    assert (start.epoch, start.of_match(MATCH), start.of_match(MATCH + 1), start.of_tournament(TOURNAMENT)) == (
        "", 0, 0, 0,
    )  # fmt: skip
    coalescing.submit_score(MATCH, TOURNAMENT, 1, score_frame(1))
    coalescing.flush(MATCH, TOURNAMENT, None)
    after = history.position(TOURNAMENT, [MATCH, MATCH + 1])
    assert (after.of_match(MATCH), after.of_match(MATCH + 1), after.of_tournament(TOURNAMENT)) == (1, 0, 0)
    assert after.epoch
    coalescing.emit_tournament_event(
        TOURNAMENT, template(Event.BRACKET_UPDATED, {"tournament_id": TOURNAMENT, "matches": []})
    )
    again = history.position(TOURNAMENT, [MATCH])
    assert (again.epoch, again.of_tournament(TOURNAMENT)) == (after.epoch, 1)


def test_history_keeps_recent_frames_in_publish_order_and_is_bounded():
    with override_settings(REALTIME_HISTORY_LENGTH=3):
        for version in range(1, 6):
            coalescing.submit_score(MATCH, TOURNAMENT, version, score_frame(version))
            coalescing.flush(MATCH, TOURNAMENT, None)
    position, entries = history.history(TOURNAMENT, [MATCH])
    assert position.of_match(MATCH) == 5
    assert [(entry.stream, entry.sequence) for entry in entries] == [(keys.match_stream(MATCH), q) for q in (3, 4, 5)]
    assert json.loads(entries[-1].frame)["data"]["participant1_score"] == 5


def test_state_expires():
    coalescing.submit_score(MATCH, TOURNAMENT, 1, score_frame(1))
    ttl = scripts.client().ttl(keys.match_state(MATCH))
    assert 0 < ttl <= settings.REALTIME_STATE_TTL_S


@pytest.mark.asyncio
async def test_tests_can_flush_every_pending_batch_deterministically():
    from realtime.tasks import flush_pending_batches

    async with Listener(Room.match(MATCH).group) as listener:
        await run(coalescing.submit_score, MATCH, TOURNAMENT, 1, score_frame(4))
        await run(coalescing.submit_score, MATCH + 1, TOURNAMENT, 1, score_frame(5))
        assert await run(flush_pending_batches, 0) == 2
        assert await run(flush_pending_batches, 0) == 0
        assert (await listener.next())["parsed"]["data"]["participant1_score"] == 4


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_async_callers_use_the_same_interface():
    from realtime import broadcast
    from realtime.tasks import flush_pending_batches

    async with Listener(Room.match(MATCH).group) as listener:
        await broadcast.ascore_changed(
            match_id=MATCH, tournament_id=TOURNAMENT, version=1, participant1_score=6, participant2_score=1
        )
        await run(flush_pending_batches, 0)
        assert (await listener.next())["parsed"]["data"]["participant1_score"] == 6
