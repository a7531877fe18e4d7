"""Invariants 3 and 5 under real concurrency: two writer processes, a Celery worker flushing, two
ASGI servers, spectators on both. Whatever the interleaving, every spectator sees per match
strictly increasing sequences, no score after the completion, and the database's final score.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from asgiref.sync import sync_to_async

from tests.harness.processes import ROOT, AsgiServer
from tests.harness.spectators import Spectator, is_type
from tournaments import services
from tournaments.models import Match

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
def second_asgi_server(server_env):
    server = AsgiServer(server_env)
    yield server
    server.stop()


def run_writers(env: dict, match_ids: list[int], count: int = 2, updates: int = 150) -> None:
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.harness.hammer",
                "--seed",
                str(seed),
                "--updates",
                str(updates),
                "--complete-chance",
                "0.02",
                *map(str, match_ids),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(count)
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err


def complete_the_rest(match_ids: list[int]) -> dict[int, tuple[int, int]]:
    for match in Match.objects.filter(pk__in=match_ids, state=Match.State.LIVE):
        services.complete_match(  # side 1 ahead, whatever the writers left: a game never ends in a tie
            match_id=match.id,
            participant1_score=max(match.participant1_score, match.participant2_score) + 1,
            participant2_score=match.participant2_score,
        )
    return {m.id: (m.participant1_score, m.participant2_score) for m in Match.objects.filter(pk__in=match_ids)}


async def test_two_writers_two_servers_keep_every_invariant(
    asgi_server, second_asgi_server, server_env, live_tournament
):
    match_ids = await sync_to_async(
        lambda: list(live_tournament.matches.filter(state="live").values_list("id", flat=True))
    )()
    spectators = [
        await Spectator.connect(server, f"ws/tournament/{live_tournament.id}/")
        for server in (asgi_server, second_asgi_server)
    ] + [
        await Spectator.connect(server, f"ws/match/{match_id}/")
        for match_id in match_ids
        for server in (asgi_server, second_asgi_server)
    ]
    for spectator in spectators:
        await spectator.wait_for(is_type("snapshot"))

    await asyncio.to_thread(run_writers, server_env, match_ids)
    final = await sync_to_async(complete_the_rest)(match_ids)

    for spectator in spectators:
        for match_id in match_ids:
            if spectator.of_type("snapshot")[0]["data"].get("match", {}).get("id", match_id) != match_id:
                continue  # a match room only sees its own match
            await spectator.wait_for(is_type("match_completed", match_id=match_id))
            frames = spectator.match_frames(match_id)
            sequences = [f["data"]["sequence"] for f in frames]
            assert sequences == sorted(set(sequences)), f"match {match_id}: {sequences}"
            types = [f["type"] for f in frames]
            completed_at = types.index("match_completed")
            assert "score_updated" not in types[completed_at:], f"match {match_id}: {types}"
            completed = frames[completed_at]["data"]
            assert (completed["participant1_score"], completed["participant2_score"]) == final[match_id]
    for spectator in spectators:
        await spectator.close()
