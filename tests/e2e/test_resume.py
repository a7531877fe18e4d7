"""Late joiners and reconnects: snapshot under a burst, exact resume, fallback."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from realtime.tasks import flush_pending_batches
from tests.harness.factories import first_live_match
from tests.harness.spectators import Spectator, is_type, resume, visit
from tournaments import services
from tournaments.models import Match

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def publish_scores(match: Match, scores: range) -> None:
    """One broadcast per score: each update is flushed before the next (deterministic, no window)."""
    for score in scores:
        services.update_score(match_id=match.id, participant1_score=score, participant2_score=0)
        flush_pending_batches(0)


async def test_a_client_away_for_20_events_resumes_with_exactly_those_20_in_order(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    path = f"ws/tournament/{live_tournament.id}/"
    before = await visit(asgi_server, path)

    await sync_to_async(publish_scores)(match, range(1, 21))

    after = await resume(asgi_server, path, before)
    resumed = await after.wait_for(is_type("resumed"))
    assert after.frames[0] is resumed and resumed["data"]["replayed"] == 20
    await after.wait_for(lambda _: len(after.frames) >= 21)
    replayed = after.frames[1:21]
    assert [f["type"] for f in replayed] == ["score_updated"] * 20
    assert [f["data"]["participant1_score"] for f in replayed] == list(range(1, 21))
    # and live delivery goes on after the replay, without duplicates
    await sync_to_async(publish_scores)(match, range(21, 22))
    await after.wait_for(is_type("score_updated", participant1_score=21))
    sequences = [f["data"]["sequence"] for f in after.match_frames(match.id)]
    assert sequences == sorted(set(sequences))
    await after.close()


async def test_a_match_room_resumes_its_own_match_only(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    path = f"ws/match/{match.id}/"
    before = await visit(asgi_server, path)
    await sync_to_async(publish_scores)(match, range(1, 4))
    after = await resume(asgi_server, path, before)
    resumed = await after.wait_for(is_type("resumed"))
    assert resumed["data"]["replayed"] == 3
    await after.close()


@override_settings(REALTIME_HISTORY_LENGTH=5)
async def test_a_client_away_longer_than_the_history_gets_a_snapshot_and_knows_it(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    path = f"ws/tournament/{live_tournament.id}/"
    before = await visit(asgi_server, path)
    await sync_to_async(publish_scores)(match, range(1, 21))
    after = await resume(asgi_server, path, before)
    snapshot = await after.wait_for(is_type("snapshot"))
    assert after.frames[0] is snapshot
    assert snapshot["data"]["resume_failed"] is True
    by_id = {m["id"]: m for m in snapshot["data"]["matches"]}
    assert by_id[match.id]["participant1_score"] == 20
    await after.close()


async def test_a_malformed_resume_gets_an_error_and_a_snapshot(asgi_server, live_tournament):
    spectator = await Spectator.connect(asgi_server, f"ws/tournament/{live_tournament.id}/?resume=%7Bnope")
    await spectator.wait_for(is_type("error", code="bad_resume"))
    snapshot = await spectator.wait_for(is_type("snapshot"))
    assert snapshot["data"]["resume_failed"] is True
    await spectator.close()


async def test_clients_joining_during_a_burst_end_with_the_last_score_and_no_out_of_order_frame(
    asgi_server, live_tournament
):
    match = await sync_to_async(first_live_match)(live_tournament)
    done = threading.Event()

    def feed() -> int:
        score = 0
        while not done.is_set() and score < 3000:
            score += 1
            services.update_score(match_id=match.id, participant1_score=score, participant2_score=0)
            if score % 3 == 0:
                flush_pending_batches(0)  # many broadcasts, racing the worker's own flushes
        return score

    feeder = asyncio.create_task(asyncio.to_thread(feed))
    joiners = []
    for _ in range(6):  # join at different moments of the burst
        joiners.append(await Spectator.connect(asgi_server, f"ws/tournament/{live_tournament.id}/"))
        joiners.append(await Spectator.connect(asgi_server, f"ws/match/{match.id}/"))
        await asyncio.sleep(0.05)  # spread the joins over the burst (pacing, not waiting for an event)
    done.set()
    last = await feeder
    await sync_to_async(flush_pending_batches)(0)

    def shows_last(frame: dict) -> bool:
        """The frame shows the last score: a later score_updated, or a snapshot taken after it."""
        if frame["type"] == "snapshot":
            data = frame["data"]
            start = data["match"] if "match" in data else next(m for m in data["matches"] if m["id"] == match.id)
            return start["participant1_score"] == last
        return is_type("score_updated", participant1_score=last)(frame)

    for spectator in joiners:
        await spectator.wait_for(shows_last, timeout=10)
        snapshot = spectator.frames[0]
        assert snapshot["type"] == "snapshot"
        data = snapshot["data"]
        start = data["match"] if "match" in data else next(m for m in data["matches"] if m["id"] == match.id)
        scores = [start["participant1_score"]] + [
            f["data"]["participant1_score"] for f in spectator.match_frames(match.id)
        ]
        sequences = [start["sequence"]] + [f["data"]["sequence"] for f in spectator.match_frames(match.id)]
        assert sequences == sorted(set(sequences)), "a stale or duplicate frame was delivered"
        assert scores == sorted(scores), "the score went backwards"
        await spectator.close()
