"""/metrics scraped from a running stack (an ASGI server and a Celery worker sharing one
PROMETHEUS_MULTIPROC_DIR, as on one host): the counters move as traffic flows, summed across the
processes, and the endpoint answers only who may read it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgiref.sync import sync_to_async
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.factories import first_live_match
from tests.harness.processes import AsgiServer, start_worker
from tests.harness.spectators import Spectator, is_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]
TOKEN = "metrics-reader-secret"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels) -> float:
    """The sum of the samples named `name` whose labels include `labels`."""
    return sum(v for (n, have), v in scraped.items() if n == name and set(labels.items()) <= set(have))


async def test_a_scrape_counts_what_flowed_through_the_stack_and_only_its_readers_get_it(
    own_redis, server_env, tmp_path, live_tournament, organizer
):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A Redis (and so a broker) of its own: its flushes run in its own worker, which shares the metrics
    # directory, not in the session's. Loopback is not among the allowed networks: the token is the way in.
    env = {**server_env, "REDIS_URL": f"redis://127.0.0.1:{own_redis['port']}/0", "METRICS_TOKEN": TOKEN,
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8"}  # fmt: skip
    env.pop("CELERY_BROKER_URL", None)
    server, worker = AsgiServer(env), start_worker(env)
    try:
        match = await sync_to_async(first_live_match)(live_tournament)
        spectator = await Spectator.connect(server, f"ws/tournament/{live_tournament.id}/")
        await spectator.wait_for(is_type("snapshot"))
        await spectator.send("{nope")
        await spectator.wait_for(is_type("error", code="bad_json"))
        async with httpx.AsyncClient(base_url=server.http_url, timeout=15) as client:
            assert (await client.get("/metrics")).status_code == 404  # not public
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer guess"})
            assert wrong.status_code == 404
            for p1 in range(1, 6):
                posted = await client.post(
                    f"/api/matches/{match.id}/score/", json={"participant1_score": p1, "participant2_score": 0},
                    headers={"Authorization": f"Token {organizer.api_token}"},
                )  # fmt: skip
                assert posted.status_code == 202
            await spectator.wait_for(is_type("score_updated", participant1_score=5))
            # The flush task counts its success once it has returned, just after its frame went out.
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                answer = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
                assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
                scraped = samples(answer.text)
                if value(scraped, "scores_celery_tasks_total", task="realtime.tasks.flush_match", outcome="success"):
                    break
                assert asyncio.get_running_loop().time() < deadline, "the flush task's success was never counted"
                await asyncio.sleep(0.1)  # scraping again, as Prometheus would
        accepted = value(scraped, "scores_updates_received_total", outcome="schedule") + value(
            scraped, "scores_updates_received_total", outcome="coalesced"
        )
        assert accepted == 5
        assert value(scraped, "scores_open_connections", room="tournament", transport="websocket") == 1
        assert value(scraped, "scores_client_errors_total", code="bad_json") == 1
        assert value(scraped, "scores_frames_sent_total", room="tournament") >= 1  # five posts, coalesced
        # The worker's side, summed into the web process's answer: flushes, their lag, its tasks.
        assert value(scraped, "scores_batches_flushed_total", by="task") >= 1
        assert value(scraped, "scores_flush_lag_seconds_count") >= 1
        assert value(scraped, "scores_celery_tasks_total", task="realtime.tasks.flush_match", outcome="success") >= 1
        score_route = "api/matches/<int:match_id>/score/"
        assert value(scraped, "scores_http_request_duration_seconds_count", endpoint=score_route, status="202") == 5
        await spectator.close()
    finally:
        server.stop()
        worker.stop()
