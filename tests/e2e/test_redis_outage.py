"""Redis going away makes score posts fail clearly (503) and recover by themselves when it returns."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from project.localredis import start_server, stop_server
from realtime.consumers import CLOSE_RESUME
from realtime.store import keys, scripts
from tests.harness import factories
from tests.harness.processes import AsgiServer, start_worker
from tests.harness.spectators import Spectator, is_type, resume
from tournaments.models import Match

pytestmark = pytest.mark.django_db(transaction=True)


def post_score(organizer, match, p1: int):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {organizer.api_token}")
    return api.post(
        f"/api/matches/{match.id}/score/", {"participant1_score": p1, "participant2_score": 0}, format="json"
    )


def test_score_posts_answer_503_while_redis_is_down_and_recover_after(own_redis, organizer):
    match = Match.objects.get(tournament=factories.tournament(organizer, 2))
    assert post_score(organizer, match, 1).status_code == 202

    stop_server(own_redis["process"])
    response = post_score(organizer, match, 2)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"

    own_redis["process"] = start_server(own_redis["port"], own_redis["dir"])
    response = post_score(organizer, match, 3)
    assert response.status_code == 202
    # the store took the update: its live score, waiting for its window, is the one just posted
    assert scripts.client().hmget(keys.match_state(match.id), "p1", "pending") == [b"3", b"1"]


async def test_the_whole_stack_recovers_by_itself_when_redis_restarts(own_redis, server_env, organizer, tmp_path):
    """ASGI server, worker and this test's API calls all on a Redis that goes away and comes back."""
    env = {**server_env, "REDIS_URL": f"redis://127.0.0.1:{own_redis['port']}/0"}
    env.pop("CELERY_BROKER_URL", None)
    server, worker = AsgiServer(env), start_worker(env)
    try:
        tournament = await sync_to_async(factories.tournament)(organizer, 2)
        match = await sync_to_async(Match.objects.get)(tournament=tournament)
        spectator = await Spectator.connect(server, f"ws/tournament/{tournament.id}/")
        await spectator.wait_for(is_type("snapshot"))

        async def post(p1: int) -> int:
            async with httpx.AsyncClient(base_url=server.http_url, timeout=15) as client:
                response = await client.post(
                    f"/api/matches/{match.id}/score/",
                    json={"participant1_score": p1, "participant2_score": 0},
                    headers={"Authorization": f"Token {organizer.api_token}"},
                )
                return response.status_code

        assert await post(1) == 202
        await spectator.wait_for(is_type("score_updated", participant1_score=1))

        async with httpx.AsyncClient(base_url=server.http_url) as client:
            assert (await client.get("/readyz")).json() == {
                "status": "ready",
                "checks": {"database": "ok", "redis": "ok"},
            }
        stop_server(own_redis["process"])
        assert await post(2) == 503
        async with httpx.AsyncClient(base_url=server.http_url) as client:  # not ready, and says what is missing
            not_ready = await client.get("/readyz")
            assert not_ready.status_code == 503 and not_ready.json()["checks"] == {
                "database": "ok",
                "redis": "unavailable",
            }
            assert (await client.get("/healthz")).status_code == 200  # alive all the same: no restart needed
        # a spectator arriving now is told to come back later (HTTP 503), and leaves no trace
        with pytest.raises(websockets.InvalidStatus) as refused:
            await Spectator.connect(server, f"ws/tournament/{tournament.id}/")
        assert refused.value.response.status_code == 503
        own_redis["process"] = start_server(own_redis["port"], own_redis["dir"])

        # No restart of any process: the next post is accepted. The server's subscription was cut and
        # made again, so what was published meanwhile may never have reached it: the spectator is told
        # to resume (1012), and resuming gives it the score, whether it was published before or after.
        deadline = asyncio.get_running_loop().time() + 20
        while await post(3) != 202:
            assert asyncio.get_running_loop().time() < deadline, "the API did not recover"
            await asyncio.sleep(0.2)  # retry as a client would until the deadline: recovery sends no event
        async with httpx.AsyncClient(base_url=server.http_url) as client:
            assert (await client.get("/readyz")).status_code == 200  # ready again by itself
        await asyncio.wait_for(spectator.closed.wait(), 20)
        assert spectator.close_code == CLOSE_RESUME
        resumed = await resume(server, f"ws/tournament/{tournament.id}/", spectator)
        await resumed.wait_for(is_type("score_updated", participant1_score=3), timeout=20)
        async with httpx.AsyncClient(base_url=server.http_url) as client:  # the latecomer is not counted
            viewers = (await client.get(f"/api/tournaments/{tournament.id}/")).json()["viewers"]["tournament"]
        assert viewers == 1  # the spectator, back
        await resumed.close()
        assert server.process.count("Exception in ASGI application") == 0
    finally:
        server.stop()
        worker.stop()


async def test_a_cut_subscription_tells_its_spectators_to_resume_and_they_miss_nothing(
    own_redis, server_env, organizer
):
    """Redis PUB/SUB is at most once: frames published while a server's subscriber connection is being
    made again never reach it. The server cannot know which they were, so it closes its sockets
    with 1012 and clients resume from the history, which holds them."""
    env = {**server_env, "REDIS_URL": f"redis://127.0.0.1:{own_redis['port']}/0"}
    env.pop("CELERY_BROKER_URL", None)
    server, worker = AsgiServer(env), start_worker(env)
    try:
        tournament = await sync_to_async(factories.tournament)(organizer, 4)
        matches = await sync_to_async(list)(Match.objects.filter(tournament=tournament, round=1))
        tournament_room = await Spectator.connect(server, f"ws/tournament/{tournament.id}/")
        match_room = await Spectator.connect(server, f"ws/match/{matches[0].id}/")
        for spectator in (tournament_room, match_room):
            await spectator.wait_for(is_type("snapshot"))

        async with httpx.AsyncClient(base_url=server.http_url, timeout=15) as client:

            async def post(match: Match, p1: int) -> None:
                response = await client.post(
                    f"/api/matches/{match.id}/score/",
                    json={"participant1_score": p1, "participant2_score": 0},
                    headers={"Authorization": f"Token {organizer.api_token}"},
                )
                assert response.status_code == 202, response.text

            await post(matches[0], 1)
            await tournament_room.wait_for(is_type("score_updated", participant1_score=1))
            # cut the server's subscriber connection and publish at once, into the gap if it is quick
            killed = await asyncio.to_thread(scripts.client().client_kill_filter, _type="pubsub")
            assert killed >= 1
            for match in matches:
                await post(match, 2)

            for spectator in (tournament_room, match_room):
                await asyncio.wait_for(spectator.closed.wait(), 10)
                assert spectator.close_code == CLOSE_RESUME
            back = [
                await resume(server, f"ws/tournament/{tournament.id}/", tournament_room),
                await resume(server, f"ws/match/{matches[0].id}/", match_room),
            ]
            for match in matches:
                await back[0].wait_for(is_type("score_updated", match_id=match.id, participant1_score=2))
            await back[1].wait_for(is_type("score_updated", match_id=matches[0].id, participant1_score=2))
            await post(matches[0], 3)  # and the subscription carries frames again
            for spectator in back:
                await spectator.wait_for(is_type("score_updated", match_id=matches[0].id, participant1_score=3))
                await spectator.close()
        assert server.process.count("Exception in ASGI application") == 0
    finally:
        server.stop()
        worker.stop()
