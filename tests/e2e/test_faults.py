"""Faults and hostile clients: a killed ASGI process, fuzzed frames, floods."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
import websockets
from asgiref.sync import sync_to_async

from realtime.tasks import flush_pending_batches
from tests.harness.factories import first_live_match
from tests.harness.processes import AsgiServer
from tests.harness.spectators import Spectator, is_type, resume
from tournaments import services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


async def test_clients_of_a_killed_server_resume_on_another_without_missing_anything(
    server_env, asgi_server, live_tournament
):
    doomed = AsgiServer(server_env)
    path = f"ws/tournament/{live_tournament.id}/"
    spectator = await Spectator.connect(doomed, path)
    await spectator.wait_for(is_type("snapshot"))
    doomed.process.kill()  # SIGKILL: no close frame, no cleanup
    await asyncio.wait_for(spectator.closed.wait(), 10)

    match = await sync_to_async(first_live_match)(live_tournament)
    for score in range(1, 6):  # meanwhile, the tournament goes on
        await sync_to_async(services.update_score)(match_id=match.id, participant1_score=score, participant2_score=0)
        await sync_to_async(flush_pending_batches)(0)

    moved = await resume(asgi_server, path, spectator)  # the client's reconnect lands on the other server
    resumed = await moved.wait_for(is_type("resumed"))
    assert resumed["data"]["replayed"] == 5
    await moved.wait_for(lambda _: len(moved.frames) == 6)
    assert [f["data"]["participant1_score"] for f in moved.frames[1:]] == [1, 2, 3, 4, 5]
    await moved.close()


def fuzzed_frames(rng: random.Random, count: int) -> list[str | bytes]:
    """Garbage a broken or hostile client might send."""
    makers = [
        lambda: rng.randbytes(rng.randrange(1, 300)),  # binary
        lambda: "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(0, 200))),  # unicode noise
        lambda: json.dumps(
            {
                "type": rng.choice(["ping", "pong", "resume", "", None, 7, "score_updated"]),
                "data": rng.choice([None, [], {}, "x" * 50]),
            }
        ),  # fmt: skip
        lambda: json.dumps(rng.choice([None, 1, 1.5, "ping", [], [{"type": "ping"}], {"typ": "ping"}])),
        lambda: "{" * rng.randrange(1, 5000),  # invalid JSON
        lambda: (
            "[" * (depth := rng.randrange(900, 2000)) + "]" * depth
        ),  # valid JSON, nested past json's recursion limit
        lambda: json.dumps({"type": "x" * rng.randrange(1, 3000)}),
        lambda: "x" * rng.randrange(5000, 20000),  # over the 4096-character limit
    ]
    return [rng.choice(makers)() for _ in range(count)]


async def test_fuzzed_frames_get_an_error_and_never_break_the_server(server_env, live_tournament):
    server = AsgiServer({**server_env, "REALTIME_CLIENT_RATE": "10000", "REALTIME_CLIENT_BURST": "10000"})
    try:
        path = f"ws/tournament/{live_tournament.id}/"
        spectator = await Spectator.connect(server, path)
        await spectator.wait_for(is_type("snapshot"))
        frames = fuzzed_frames(random.Random(8), 300)
        for index, garbage in enumerate(frames, start=1):
            await spectator.send(garbage)
            answered = 1 + index  # the snapshot, then one answer per frame sent
            await spectator.wait_for(lambda _, n=answered: len(spectator.frames) >= n)
            assert spectator.frames[-1]["type"] in {"error", "pong"}, (garbage, spectator.frames[-1])
        assert not spectator.closed.is_set()
        # a frame over the server's 64 KiB limit is refused with a clean close (1009), not a crash
        await spectator.send("y" * 70_000)
        await asyncio.wait_for(spectator.closed.wait(), 10)
        assert spectator.close_code == 1009
        # the server still serves
        fresh = await Spectator.connect(server, path)
        await fresh.wait_for(is_type("snapshot"))
        await fresh.send({"type": "ping"})
        await fresh.wait_for(is_type("pong"))
        await fresh.close()
    finally:
        server.stop()


async def test_a_flooding_client_does_not_hold_up_the_others(asgi_server, live_tournament):
    path = f"ws/tournament/{live_tournament.id}/"
    flooder, bystander = await Spectator.connect(asgi_server, path), await Spectator.connect(asgi_server, path)
    for spectator in (flooder, bystander):
        await spectator.wait_for(is_type("snapshot"))

    async def flood() -> None:
        try:
            for _ in range(2000):
                await flooder.send('{"type": "ping"}')
        except websockets.ConnectionClosed:
            pass

    flooding = asyncio.create_task(flood())
    match = await sync_to_async(first_live_match)(live_tournament)
    await sync_to_async(services.update_score)(match_id=match.id, participant1_score=4, participant2_score=4)
    await bystander.wait_for(is_type("score_updated", participant1_score=4), timeout=5)
    await bystander.send({"type": "ping"})
    await bystander.wait_for(is_type("pong"), timeout=5)
    await flooding
    await asyncio.wait_for(flooder.closed.wait(), 10)
    assert flooder.close_code == 4429
    assert not bystander.closed.is_set()
    await bystander.close()


async def test_a_flood_of_score_posts_for_one_match_never_delays_another_matchs_scores(asgi_server, live_tournament):
    """Posts for one match coalesce into one flush per window, so a feed at full speed cannot queue
    up work in front of a quiet match: its score reaches spectators while the flood goes on."""
    flooded, quiet = await sync_to_async(
        lambda: list(live_tournament.matches.filter(state="live").order_by("position")[:2])
    )()
    spectator = await Spectator.connect(asgi_server, f"ws/match/{quiet.id}/")
    await spectator.wait_for(is_type("snapshot"))
    stop = asyncio.Event()
    posted = 0

    def flood() -> None:
        nonlocal posted
        while not stop.is_set() and posted < 100_000:
            posted += 1
            services.update_score(match_id=flooded.id, participant1_score=posted % 1000, participant2_score=0)

    flooding = asyncio.create_task(asyncio.to_thread(flood))
    try:
        while posted < 200:  # the flood is under way (polling a counter: nothing announces it)
            await asyncio.sleep(0.01)
        await sync_to_async(services.update_score)(match_id=quiet.id, participant1_score=3, participant2_score=1)
        await spectator.wait_for(is_type("score_updated", participant1_score=3), timeout=10)
        assert not flooding.done(), "the quiet match's score only arrived after the flood"
    finally:
        stop.set()
        await flooding
    await spectator.close()
