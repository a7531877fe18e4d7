"""The chaos topology run, short (the long one: `make chaos`, docs/operations.md)."""

import json
import subprocess
import sys

import pytest
from asgiref.sync import sync_to_async

from tests.harness import topology
from tests.harness.processes import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


async def test_two_servers_two_workers_random_writers_and_a_killed_worker_keep_every_invariant(server_env, tmp_path):
    tournament_id, match_ids, token = await sync_to_async(topology.create_tournament)()
    report = await topology.run(server_env, tournament_id, match_ids, token, operations=600, tmp_dir=tmp_path)
    print(report)
    assert report.worker_killed
    assert report.accepted + report.refused == 600 and report.accepted > 300  # 409s: posts to completed matches
    assert report.live_scores_checked > 0
    assert report.violations == []


def test_the_same_run_on_postgresql_which_locks_rows_keeps_every_invariant(own_redis, server_env):
    """SQLite runs one writer at a time and hides races; the chaos run on a real PostgreSQL (pgserver)
    exercises the row locks. On a Redis of its own: its flush tasks are its workers', not the session's."""
    env = {**server_env, "REDIS_URL": f"redis://127.0.0.1:{own_redis['port']}/0"}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("DATABASE_URL", None)  # the harness makes its own PostgreSQL
    result = subprocess.run(
        [sys.executable, "-m", "tests.harness.topology", "--ops", "600", "--database", "postgres"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("{") :])
    print(report)
    assert report["database"] == "postgres" and report["worker_killed"]
    assert report["accepted"] + report["refused"] == 600 and report["accepted"] > 300
    assert report["live_scores_checked"] > 0 and report["violations"] == []
