"""The chaos topology run, short (the long one: `make chaos`, docs/operations.md)."""

import pytest
from asgiref.sync import sync_to_async

from tests.harness import topology

pytestmark = pytest.mark.django_db(transaction=True)


async def test_two_servers_two_workers_random_writers_and_a_killed_worker_keep_every_invariant(server_env, tmp_path):
    tournament_id, match_ids, token = await sync_to_async(topology.create_tournament)()
    report = await topology.run(server_env, tournament_id, match_ids, token, operations=600, tmp_dir=tmp_path)
    print(report)
    assert report.worker_killed
    assert report.accepted + report.refused == 600 and report.accepted > 300  # 409s: posts to completed matches
    assert report.live_scores_checked > 0
    assert report.violations == []
