"""The realtime invariants (docs/architecture.md) end to end: real Redis, a real Celery worker, a
real ASGI server and real WebSocket clients. Score updates go through the realtime interface (or the
services), flushes run in the worker, frames arrive on sockets.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from realtime import broadcast
from realtime.store import keys, scripts
from realtime.tasks import flush_match
from tests.harness import factories
from tests.harness.factories import first_live_match
from tests.harness.processes import AsgiServer
from tests.harness.spectators import Spectator, is_type
from tournaments import errors, services
from tournaments.models import Match

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def post_scores(match: Match, scores: list[int]) -> None:
    """Live score posts through the service (Redis first), as fast as the caller can go."""
    for score in scores:
        services.update_score(match_id=match.id, participant1_score=score, participant2_score=0)


async def watch(asgi_server, match: Match) -> tuple[Spectator, Spectator]:
    """One spectator in the tournament room, one in the match room, both past their snapshot."""
    rooms = await asyncio.gather(
        Spectator.connect(asgi_server, f"ws/tournament/{match.tournament_id}/"),
        Spectator.connect(asgi_server, f"ws/match/{match.id}/"),
    )
    for spectator in rooms:
        await spectator.wait_for(is_type("snapshot"))
    return rooms


async def complete(match: Match, p1: int, p2: int = 0) -> None:
    await sync_to_async(services.complete_match)(match_id=match.id, participant1_score=p1, participant2_score=p2)


async def scores_before_completion(spectator: Spectator, match: Match) -> list[dict]:
    """Score frames of the match up to its match_completed frame (which closes the stream)."""
    await spectator.wait_for(is_type("match_completed", match_id=match.id))
    frames = spectator.match_frames(match.id)
    completed_at = [f["type"] for f in frames].index("match_completed")
    assert all(f["type"] != "score_updated" for f in frames[completed_at:]), "a score followed the completion"
    return [f for f in frames[:completed_at] if f["type"] == "score_updated"]


@pytest.mark.parametrize("burst", [10, 100])
async def test_a_burst_is_one_frame_with_the_latest_score_in_each_room(asgi_server, live_tournament, burst):
    match = await sync_to_async(first_live_match)(live_tournament)
    rooms = await watch(asgi_server, match)
    await sync_to_async(post_scores)(match, list(range(10, 10 + burst)))
    latest = 10 + burst - 1
    for spectator in rooms:
        await spectator.wait_for(is_type("score_updated", match_id=match.id))
    # The completion is the next event: every score frame published before it has arrived.
    await complete(match, latest, 0)
    for spectator in rooms:
        scores = await scores_before_completion(spectator, match)
        assert [f["data"]["participant1_score"] for f in scores] == [latest]


async def test_sequences_strictly_increase_and_survive_a_second_writer_process(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    tournament_room, match_room = await watch(asgi_server, match)
    # Two writer threads in this process and the worker process flushing: scores via the database,
    # so versions (and therefore latest-wins) follow commit order.
    values = iter(range(1, 10_000))

    def writer(count: int) -> None:
        for _ in range(count):
            services.update_score(match_id=match.id, participant1_score=next(values), participant2_score=0)

    await asyncio.gather(*(asyncio.to_thread(writer, 60) for _ in range(2)))
    final = await sync_to_async(lambda: Match.objects.get(pk=match.id).participant1_score)()
    await complete(match, final + 1)
    for spectator in (tournament_room, match_room):
        await spectator.wait_for(is_type("match_completed", match_id=match.id))
        frames = spectator.match_frames(match.id)
        sequences = [f["data"]["sequence"] for f in frames]
        assert sequences == sorted(set(sequences)), sequences
        scores = [f["data"]["participant1_score"] for f in frames if f["type"] == "score_updated"]
        assert scores == sorted(scores), "a stale score was delivered after a newer one"
        assert frames[-1]["data"]["participant1_score"] == final + 1


@override_settings(REALTIME_WINDOW_MS=100, REALTIME_MAX_WAIT_MS=300)
async def test_a_continuous_stream_is_broadcast_every_window_never_held(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    _, match_room = await watch(asgi_server, match)
    posted_at: dict[int, float] = {}
    started = time.monotonic()
    score = 0
    while time.monotonic() - started < 2.0:
        score += 1
        posted_at[score] = time.monotonic()
        await sync_to_async(post_scores)(match, [score])
        await asyncio.sleep(0.02)  # the feed's pace (one update per 20 ms), not a wait for an event
    await match_room.wait_for(is_type("score_updated", participant1_score=score))
    frames = [f for f in match_room.match_frames(match.id) if f["type"] == "score_updated"]
    arrivals = [t for f, t in zip(match_room.frames, match_room.received_at, strict=True) if f in frames]
    assert len(frames) >= 8, f"only {len(frames)} broadcasts for 2 s of updates"
    for frame, arrived in zip(frames, arrivals, strict=True):
        # what the viewer sees is never older than max-wait (+ slack for a loaded CI machine)
        newest_before = max(s for s, t in posted_at.items() if t <= arrived)
        age_of_shown = arrived - posted_at[frame["data"]["participant1_score"]]
        assert newest_before - frame["data"]["participant1_score"] >= 0
        assert age_of_shown < 0.3 + 0.2, f"frame {frame} was {age_of_shown:.3f}s old"


@override_settings(REALTIME_WINDOW_MS=5000, REALTIME_MAX_WAIT_MS=5000)
async def test_completion_is_immediate_and_follows_the_pending_score(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    tournament_room, match_room = await watch(asgi_server, match)
    await sync_to_async(post_scores)(match, [1, 2, 3])
    started = time.monotonic()
    await complete(match, 5, 2)
    for spectator in (tournament_room, match_room):
        completed = await spectator.wait_for(is_type("match_completed", match_id=match.id), timeout=4)
        assert completed["data"]["participant1_score"] == 5
        assert completed["data"]["winner_id"] == match.participant1_id
        frames = spectator.match_frames(match.id)
        assert [f["type"] for f in frames] == ["score_updated", "match_completed"]
        assert frames[0]["data"]["participant1_score"] == 3
    # well inside the 5 s window the pending score would otherwise have waited for
    assert time.monotonic() - started < 2.5


async def test_updates_after_completion_are_rejected_and_broadcast_nothing(asgi_server, live_tournament, organizer):
    match = await sync_to_async(first_live_match)(live_tournament)
    _, match_room = await watch(asgi_server, match)
    await complete(match, 3, 1)
    with pytest.raises(errors.Conflict):
        await sync_to_async(services.update_score)(match_id=match.id, participant1_score=9, participant2_score=9)
    # Refused by Redis itself, whoever calls: the completion closed the match there in the same step.
    refused = await sync_to_async(broadcast.submit_live_score)(
        match_id=match.id, tournament_id=match.tournament_id, participant1=42, participant2=0,
        user_id=None, max_score=100,
    )  # fmt: skip
    assert (refused.accepted, refused.state) == (False, "completed")
    await sync_to_async(services.open_dispute)(match_id=match.id, opened_by=organizer, reason="late goal")
    await match_room.wait_for(is_type("dispute_created", match_id=match.id))
    assert [f["type"] for f in match_room.match_frames(match.id)] == ["match_completed", "dispute_created"]


async def test_a_stale_or_redelivered_flush_task_broadcasts_nothing(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    _, match_room = await watch(asgi_server, match)
    await sync_to_async(post_scores)(match, [7])
    await match_room.wait_for(is_type("score_updated", match_id=match.id))
    token = int(scripts.client().hget(keys.match_state(match.id), "token"))
    # the same task delivered twice more, and a task with a token that was never current
    for stale in (token, token, token - 1, token + 5):
        flush_match.delay(match.id, match.tournament_id, stale)
    await complete(match, 8, 0)
    await match_room.wait_for(is_type("match_completed", match_id=match.id))
    assert [f["type"] for f in match_room.match_frames(match.id)] == ["score_updated", "match_completed"]


async def test_a_rolled_back_change_broadcasts_nothing(asgi_server, live_tournament, organizer):
    match = await sync_to_async(first_live_match)(live_tournament)
    _, match_room = await watch(asgi_server, match)

    def update_then_fail() -> None:
        with transaction.atomic():
            services.open_dispute(match_id=match.id, opened_by=organizer, reason="rolled back")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await sync_to_async(update_then_fail)()
    await complete(match, 2, 1)
    await match_room.wait_for(is_type("match_completed", match_id=match.id))
    assert [f["type"] for f in match_room.match_frames(match.id)] == ["match_completed"]
    assert await sync_to_async(lambda: Match.objects.get(pk=match.id).participant1_score)() == 2


async def test_an_idle_socket_outlives_redis_client_timeouts_and_still_receives(asgi_server, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    _, match_room = await watch(asgi_server, match)
    # redis-py 8 defaulted socket_timeout to 5 s and killed idle channel-layer readers; stay idle longer.
    await asyncio.sleep(7)  # the idleness under test, not a wait for an event
    assert not match_room.closed.is_set()
    await complete(match, 1, 0)
    await match_room.wait_for(is_type("match_completed", match_id=match.id))


async def test_a_corrected_result_reaches_both_rooms_after_the_completion(asgi_server, live_tournament, organizer):
    match = await sync_to_async(first_live_match)(live_tournament)
    tournament_room, match_room = await watch(asgi_server, match)
    await complete(match, 3, 1)
    dispute = await sync_to_async(services.open_dispute)(match_id=match.id, opened_by=organizer, reason="wrong score")
    await sync_to_async(services.resolve_dispute)(
        dispute_id=dispute.id, resolved_by=organizer, resolution="replay", participant1_score=1, participant2_score=3
    )
    for spectator in (tournament_room, match_room):
        resolved = await spectator.wait_for(is_type("dispute_resolved", match_id=match.id))
        assert resolved["data"]["winner_id"] == match.participant2_id
        assert resolved["data"]["state"] == "completed"
        types = [f["type"] for f in spectator.match_frames(match.id)]
        assert types == ["match_completed", "dispute_created", "dispute_resolved"]
    # the corrected winner moved into the next match (tournament room only)
    await tournament_room.wait_for(
        lambda f: (
            f["type"] == "bracket_updated"
            and any(m["participant1_id"] == match.participant2_id for m in f["data"]["matches"] if m["round"] == 2)
        )
    )


async def test_the_bracket_page_gets_every_changed_match_in_one_frame_per_room_window(asgi_server, organizer):
    # Round one of a 64-player bracket: 32 live matches, each scoring twice, all at once.
    tournament = await sync_to_async(factories.tournament)(organizer, 64)
    matches = await sync_to_async(lambda: list(tournament.matches.filter(state="live").order_by("position")))()
    bracket = await Spectator.connect(asgi_server, f"ws/tournament/{tournament.id}/")
    one_match = await Spectator.connect(asgi_server, f"ws/match/{matches[0].id}/")
    for spectator in (bracket, one_match):
        await spectator.wait_for(is_type("snapshot"))
    for round_ in (1, 2):
        for match in matches:
            await sync_to_async(post_scores)(match, [round_])
        for match in matches:
            await bracket.wait_for(is_type("score_updated", match_id=match.id, participant1_score=round_))
    await one_match.wait_for(is_type("score_updated", participant1_score=2))

    window = settings.REALTIME_ROOM_WINDOW_MS / 1000
    arrivals = [at for at, _ in bracket.batches]
    assert len(bracket.of_type("score_updated")) <= 2 * len(matches)
    assert len(arrivals) < len(bracket.of_type("score_updated")) / 4, "scores were not batched"
    assert len(arrivals) <= (arrivals[-1] - arrivals[0]) / window + 2, "more than one batch per room window"
    assert all(len(set(ids)) == len(ids) for _, ids in bracket.batches), "a match twice in one batch"
    assert one_match.batches == [] and len(one_match.of_type("score_updated")) <= 2  # match rooms: not batched


async def test_a_crowd_arriving_at_once_at_a_fresh_server_all_get_their_snapshot(server_env, live_tournament):
    # A restart: every page reconnects at the same moment, to a process that has no subscription yet.
    server = AsgiServer(server_env)
    try:
        crowd = await asyncio.gather(
            *(Spectator.connect(server, f"ws/tournament/{live_tournament.id}/") for _ in range(40))
        )
        await asyncio.gather(*(spectator.wait_for(is_type("snapshot")) for spectator in crowd))
        match = await sync_to_async(first_live_match)(live_tournament)
        await sync_to_async(post_scores)(match, [3])
        await asyncio.gather(*(s.wait_for(is_type("score_updated", participant1_score=3)) for s in crowd))
        await asyncio.gather(*(spectator.close() for spectator in crowd))
    finally:
        server.stop()


async def test_under_a_server_without_raw_writes_every_frame_still_arrives_in_order(server_env, live_tournament):
    # Any other ASGI server: frames go through the connection's ASGI send (realtime.sinks.AsgiSink),
    # and the fan-out's messages through a queue of the consumer's own.
    server = AsgiServer(server_env, stock_websocket_protocol=True)
    try:
        match = await sync_to_async(first_live_match)(live_tournament)
        rooms = [await Spectator.connect(server, f"ws/tournament/{match.tournament_id}/"),
                 await Spectator.connect(server, f"ws/match/{match.id}/")]  # fmt: skip
        for spectator in rooms:
            await spectator.wait_for(is_type("snapshot"))
        await sync_to_async(post_scores)(match, [1, 2, 3])
        for spectator in rooms:
            await spectator.wait_for(is_type("score_updated", participant1_score=3))
        await complete(match, 4)
        for spectator in rooms:
            assert [f["data"]["participant1_score"] for f in await scores_before_completion(spectator, match)][-1] == 3
            await spectator.send({"type": "ping"})
            await spectator.wait_for(is_type("pong"))
            await spectator.close()
        assert rooms[0].batches, "the tournament room is conflated under any server"
    finally:
        server.stop()
