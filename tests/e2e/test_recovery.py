"""Invariant 7 (nothing lost): a worker killed while it holds a flush does not cost the score."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.test import override_settings

from tests.harness.polling import until
from tests.harness.processes import start_beat
from tests.harness.spectators import Spectator, is_type
from tournaments import services
from tournaments.models import Match

pytestmark = pytest.mark.django_db(transaction=True)


@override_settings(REALTIME_WINDOW_MS=3000, REALTIME_MAX_WAIT_MS=3000)
async def test_a_worker_killed_holding_a_flush_loses_no_score(
    asgi_server, celery_worker, server_env, live_tournament, tmp_path
):
    match = await sync_to_async(lambda: live_tournament.matches.filter(state=Match.State.LIVE).first())()
    spectator = await Spectator.connect(asgi_server, f"ws/match/{match.id}/")
    await spectator.wait_for(is_type("snapshot"))
    worker = celery_worker.current
    received_before = worker.count("flush_match", "received")

    await sync_to_async(services.update_score)(match_id=match.id, participant1_score=7, participant2_score=3)
    # The countdown task (3 s) now waits in the worker's memory: kill the worker while it holds it.
    await asyncio.to_thread(worker.wait_for_output, "flush_match", "received", more_than=received_before)
    celery_worker.kill()

    # A fresh worker and beat: the sweep (every REALTIME_SWEEP_INTERVAL_S) finds the orphaned batch.
    celery_worker.replace()
    beat = start_beat({**server_env, "REALTIME_SWEEP_INTERVAL_S": "1"}, tmp_path)
    try:
        frame = await spectator.wait_for(is_type("score_updated", match_id=match.id), timeout=15)
        assert (frame["data"]["participant1_score"], frame["data"]["participant2_score"]) == (7, 3)
        # ...delivered by the sweep, not by the lost task (unacked, it is not redelivered for minutes)
        await asyncio.to_thread(celery_worker.current.wait_for_output, "sweep flushed 1")
        # ...and saved by it: the database holds the score the API acknowledged with 202
        stored = sync_to_async(
            lambda: Match.objects.values_list("participant1_score", "participant2_score").get(pk=match.id)
        )
        await until(stored, (7, 3), timeout=10, what="the database's score")
        # ...scheduled by beat, whose health check now passes
        await sync_to_async(call_command)("beat_health")
    finally:
        beat.stop()
    await spectator.close()
